"""A served app, checked as a first user would meet it: /healthz, the /quiz page, one
submission stored, its result page and stored JSON. Used by image-test.sh (the image),
run-check.sh (the README's `make run` on a clean clone) and scale-test. Standard library only
(runs with the host's python3).

With --plan-pdf (image-test.sh and scale-test.sh, whose image installs WeasyPrint's system
libraries): a plan made from that submission through the API, and its PDF brief laid out by the
server: a PDF with at least one page, the plan's title, a font embedded (none when fontconfig
finds no font) and over 10 KB. A server without Pango answers 503 there, which fails.
"""

import argparse
import json
import re
import urllib.parse
import urllib.request
import zlib

parser = argparse.ArgumentParser()
parser.add_argument("base")
parser.add_argument("--plan-pdf", action="store_true", help="also make a plan and get its PDF")
args = parser.parse_args()
base = args.base


def get(path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(base + path, timeout=10) as answer:
        return answer.status, answer.read()


status, body = get("/healthz")
assert status == 200 and json.loads(body)["status"] == "ok", body
status, form = get("/quiz")
assert status == 200 and b"<form" in form, form[:300]
quiz = json.loads(get("/api/v1/quiz")[1])
submission = {
    "quiz_version": quiz["version"],
    "answers": [
        {"question_id": q["id"], "option_id": q["options"][1]["id"]} for q in quiz["questions"]
    ],
}
request = urllib.request.Request(
    base + "/api/v1/responses",
    data=json.dumps(submission).encode(),
    headers={"Content-Type": "application/json"},
    method="POST",
)
with urllib.request.urlopen(request, timeout=10) as answer:
    assert answer.status == 201
    created = json.loads(answer.read())
status, page = get(f"/results/{created['id']}")
assert status == 200 and b"Begin here" in page, page[:300]
status, stored = get(f"/api/v1/responses/{created['id']}")
assert json.loads(stored)["result"] == created["result"]
print(f"healthz and /quiz ok; submission {created['id']} stored, result page and JSON served")


def pdf_objects(pdf: bytes) -> bytes:
    """The PDF's bytes with every Flate stream decompressed appended: WeasyPrint keeps its page
    and font dictionaries in compressed object streams, where a plain search cannot see them."""
    parts = [pdf]
    for head in re.finditer(rb"<<([^>]*?/FlateDecode[^>]*?)>>\s*stream\r?\n", pdf):
        length = re.search(rb"/Length (\d+)", head.group(1))
        assert length, head.group(0)
        parts.append(zlib.decompress(pdf[head.end() : head.end() + int(length.group(1))]))
    return b"\n".join(parts)


if args.plan_pdf:
    request = urllib.request.Request(
        base + "/api/v1/plans",
        data=json.dumps({"response_id": created["id"]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        plan = json.loads(answer.read())
    plan_path = urllib.parse.urlsplit(plan["plan_url"]).path
    assert plan_path == f"/plans/{plan['token']}", plan["plan_url"]
    # Laid out on the request (WeasyPrint): under a second on a quiet machine, more when loaded.
    with urllib.request.urlopen(base + plan_path + "/brief.pdf", timeout=60) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"] == "application/pdf"
        pdf = answer.read()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), pdf[:20]
    assert len(pdf) > 10_000, f"a {len(pdf)}-byte PDF is too small for a two-page brief"
    objects = pdf_objects(pdf)
    pages = len(re.findall(rb"/Type\s*/Page\b", objects))
    assert pages >= 1, "no page in the PDF"
    assert b"/Title (A plan for" in objects, "the plan's title is not in the PDF"
    assert re.search(rb"/FontFile[23]?\b", objects), "no font embedded in the PDF"
    print(f"plan made; its PDF brief served: {len(pdf):,} bytes, {pages} pages, fonts embedded")
