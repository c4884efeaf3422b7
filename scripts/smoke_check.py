"""A served app, checked as a first user would meet it: /healthz, the /quiz page, one
submission stored, its result page and stored JSON. Used by image-test.sh (the image),
run-check.sh (the README's `make run` on a clean clone) and scale-test. Standard library only
(runs with the host's python3)."""

import json
import sys
import urllib.request

base = sys.argv[1]


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
