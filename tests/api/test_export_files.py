"""Exports an analyst opens and trusts, and comparisons side by side (issue 23, parts 2 to 4):
the long layout with names, percentages and each measure once; provenance in the file and its
name; the partner filter; LibreOffice opening the CSV with numbers as numbers; and
GET /api/v1/export/compare agreeing with the export, small groups suppressed the same way.

The fixture is tests/api/test_export.py's: 10 responses released in batches of 2 (6 from Ohio,
4 from Kentucky), read with a release size of 2, or with 5 (`raised`) to have a group below it.
"""

# The fixtures are test_export's, imported by name, which tests then take as parameters.
# ruff: noqa: F811

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from quiz import Quiz
from scoring import SCORING_VERSION
from tests.api.test_export import AUTH, RELEASED, exported, raised, stored  # noqa: F401
from tests.support import missing, register_partner

LONG = [
    "state", "condition", "condition_name", "measure", "stage", "stage_name", "count",
    "percent", "group_responses", "suppressed", "quiz_versions", "scoring_version", "filters",
    "released_in_batches_of", "generated_at",
]  # fmt: skip
FUNDING = "responsive-funding-systems"


def long_csv(client: Any, query: str) -> tuple[str, list[dict[str, str]]]:
    r = client.get(f"/api/v1/export/aggregate?format=csv&layout=long&{query}", headers=AUTH)
    assert r.status_code == 200, r.text
    found = re.fullmatch(r'attachment; filename="([^"]+)"', r.headers["content-disposition"])
    assert found, r.headers["content-disposition"]
    return found.group(1), list(csv.DictReader(io.StringIO(r.text)))


def test_the_long_csv_names_codes_and_counts_each_measure_once(exported, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        name, table = long_csv(c, "group_by=state&since=2026-10-01")
    assert re.fullmatch(r"aggregate-20\d\d-\d\d-\d\dT\d{6}Z_from-2026-10-01_by-state\.csv", name), (
        name
    )
    assert list(table[0]) == LONG
    ohio = [r for r in table if r["state"] == "OH" and r["condition"] == FUNDING]
    assert [(r["measure"], r["stage"], r["stage_name"]) for r in ohio] == [
        ("stage", "0", "Not yet started"),
        ("stage", "1", "Exploration"),
        ("stage", "2", "Replication"),
        ("stage", "3", "Statewide Transformation"),
        ("stage", "unknown", "Not sure or unanswered"),
        ("ranked_first", "", ""),
        ("top_three", "", ""),
    ]
    assert {r["condition_name"] for r in ohio} == {"Responsive Funding Systems"}
    # Ohio's 6 released funding answers: 3 at stage 0, 1 each at 1, 3 and unknown.
    assert [r["count"] for r in ohio[:5]] == ["3", "1", "0", "1", "1"]
    assert [r["percent"] for r in ohio[:5]] == ["50.0", "16.7", "0.0", "16.7", "16.7"]
    # A pivot table summing `count` over one measure adds up to the responses, never 5x.
    for state, size in (("OH", 6), ("KY", 4)):
        rows = [r for r in table if r["state"] == state]
        firsts = sum(int(r["count"]) for r in rows if r["measure"] == "ranked_first")
        assert firsts == size and {r["group_responses"] for r in rows} == {str(size)}
        stages = Counter()  # type: ignore[var-annotated]
        for r in rows:
            if r["measure"] == "stage":
                stages[r["condition"]] += int(r["count"])
        assert set(stages.values()) == {size}
    provenance = {tuple(r[k] for k in LONG[-5:]) for r in table}
    assert len(provenance) == 1
    versions, scoring, filters, batch, generated = provenance.pop()
    assert (versions, scoring, batch) == (quiz.version, SCORING_VERSION, "2")
    assert filters == "since=2026-10-01" and generated.endswith("Z")


def test_the_long_json_has_its_provenance_in_meta(exported, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        r = c.get("/api/v1/export/aggregate?layout=long&state=OH", headers=AUTH)
        plain = c.get("/api/v1/export/aggregate?state=OH", headers=AUTH).json()
    assert r.status_code == 200
    assert re.fullmatch(
        r'inline; filename="aggregate-[0-9T-]+Z_state-OH\.json"', r.headers["content-disposition"]
    )
    body = r.json()
    meta = body["meta"]
    assert meta["layout"] == "long" and meta["scoring_version"] == SCORING_VERSION
    assert meta["quiz_versions"] == [quiz.version] and meta["filters"]["state"] == "OH"
    assert meta["stage_names"]["3"] == "Statewide Transformation"
    assert meta["columns"] == LONG[1:10] and "released batches" in meta["suppression"]
    assert len(body["rows"]) == 11 * 7 and Counter(r["measure"] for r in body["rows"]) == {
        "stage": 55,
        "ranked_first": 11,
        "top_three": 11,
    }
    # The default layout is the contract's, untouched: a row per stage, share as a fraction.
    assert list(plain["rows"][0]) == [
        "condition", "stage", "count", "share", "suppressed",
        "group_responses", "ranked_first", "top_three",
    ]  # fmt: skip
    assert "layout" not in plain["meta"]


def test_a_suppressed_group_is_withheld_in_the_long_layout(raised) -> None:  # type: ignore[no-untyped-def]
    with raised.client() as c:
        _, table = long_csv(c, "group_by=state")
    kentucky = [r for r in table if r["state"] == "KY"]
    assert len(kentucky) == 11 * 7
    assert all(r["suppressed"] == "true" for r in kentucky)
    assert all(r["count"] == r["percent"] == r["group_responses"] == "" for r in kentucky)
    assert {r["released_in_batches_of"] for r in table} == {"5"}


def test_the_partner_filter_takes_registered_partners_only(exported, stored: str) -> None:  # type: ignore[no-untyped-def]
    register_partner(stored, "Ohio Capital Journal", "ohio-journal", "https://journal.example")
    with exported.client() as c:
        for path, more in (("aggregate", {}), ("compare", {"by": "state"})):
            for value, code in (("the-news", "unknown_partner"), ("The News", "invalid_partner")):
                query = {**more, "partner": value}
                r = c.get(f"/api/v1/export/{path}", params=query, headers=AUTH)
                assert r.status_code == 422, r.text
                detail = r.json()["error"]["details"][0]
                assert detail["field"] == "query.partner" and detail["code"] == code
        # Registered, with nothing released yet: an empty export, not an error.
        ok = c.get("/api/v1/export/aggregate?partner=ohio-journal", headers=AUTH)
        assert ok.status_code == 200 and ok.json()["rows"] == []
        # "news" was claimed before partners were checked, and has released figures.
        news = c.get("/api/v1/export/aggregate?partner=news", headers=AUTH).json()
        assert news["meta"]["responses_shown"] == 2
        # Empty: responses with no partner.
        none = c.get("/api/v1/export/aggregate?partner=", headers=AUTH).json()
        assert none["meta"]["responses_shown"] == RELEASED - 2


def soffice() -> str:
    found = shutil.which("soffice")
    if not found:
        missing("LibreOffice (soffice; scripts/install-system-deps.sh installs it)")
    assert found
    return found


@pytest.mark.live  # a LibreOffice process: a few seconds, not in `make check`
def test_libreoffice_opens_the_csv_with_numbers_as_numbers(raised, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The CSV converted to xlsx by LibreOffice as an analyst's double-click would read it
    (comma-separated, UTF-8, English number format), then read back with openpyxl: one header
    row, every row of the file, counts and percentages as numbers, withheld figures empty."""
    from openpyxl import load_workbook

    with raised.client() as c:
        name, table = long_csv(c, "group_by=state")
        text = c.get(
            "/api/v1/export/aggregate?format=csv&layout=long&group_by=state", headers=AUTH
        ).text
    source = tmp_path / name
    source.write_text(text, encoding="utf-8", newline="")
    profile = tmp_path / "lo-profile"  # its own profile: never handed to someone's running soffice
    done = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--infilter=CSV:44,34,76,1,,1033",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    converted = source.with_suffix(".xlsx")
    assert done.returncode == 0 and converted.exists(), done.stdout + done.stderr
    sheet = load_workbook(converted, read_only=True).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == LONG and len(cells) == len(table) + 1
    by_name = [dict(zip(LONG, row, strict=True)) for row in cells[1:]]
    ohio = [r for r in by_name if r["state"] == "OH"]
    assert ohio and all(isinstance(r["count"], int | float) for r in ohio)
    assert all(isinstance(r["percent"], int | float) for r in ohio)
    assert {r["group_responses"] for r in ohio} == {6}
    funding = [r for r in ohio if r["condition"] == FUNDING and r["measure"] == "stage"]
    assert [r["percent"] for r in funding] == [50, 16.7, 0, 16.7, 16.7]
    assert sum(r["count"] for r in funding) == 6
    kentucky = [r for r in by_name if r["state"] == "KY"]
    assert kentucky and all(r["count"] is None and r["percent"] is None for r in kentucky)
    assert {r["released_in_batches_of"] for r in by_name} == {5}
    assert all(isinstance(r["generated_at"], str) for r in by_name)  # kept as written
    # Stage codes are read as numbers, "unknown" as text; the per-condition measures have none.
    assert {r["stage"] for r in by_name if r["measure"] == "stage"} == {0, 1, 2, 3, "unknown"}
    assert {r["stage"] for r in by_name if r["measure"] != "stage"} == {None}


# --- comparisons -------------------------------------------------------------------------------


def compare(client: Any, query: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/export/compare?{query}", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_comparisons_agree_with_the_export(exported, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    with exported.client() as c:
        for by in ("state", "role", "month"):
            body = compare(c, f"by={by}")
            rows = c.get(f"/api/v1/export/aggregate?group_by={by}", headers=AUTH).json()["rows"]
            assert (
                body["meta"]["by"] == by and body["meta"]["filters"]["quiz_version"] == quiz.version
            )
            slugs = [x["slug"] for x in body["conditions"]]
            assert len(slugs) == 11 and slugs[0] == "vision-for-student-success"
            for column in body["columns"]:
                assert not column["suppressed"] and column["responses"] >= 2
                for slug, cell in zip(slugs, column["cells"], strict=True):
                    assert cell["condition"] == slug
                    exported_counts = {
                        r["stage"]: r["count"]
                        for r in rows
                        if r[by] == column["value"] and r["condition"] == slug
                    }
                    assert cell["counts"] == exported_counts, (by, column["value"], slug)
        states = compare(c, "by=state")
        months = compare(c, "by=month")
    ohio = next(x for x in states["columns"] if x["value"] == "OH")
    assert ohio["label"] == "Ohio" and ohio["responses"] == 6
    funding = ohio["cells"][[x["slug"] for x in states["conditions"]].index(FUNDING)]
    assert funding["at_stage_2_plus"] == 16.7 and funding["percent"]["0"] == 50.0
    assert [(x["value"], x["label"], x["responses"]) for x in months["columns"]] == [
        ("2026-10", "Oct 2026", 2),
        ("2026-11", "Nov 2026", 8),
    ]


def test_comparisons_suppress_like_the_export(raised) -> None:  # type: ignore[no-untyped-def]
    with raised.client() as c:
        body = compare(c, "by=state")
        assert c.get("/api/v1/export/compare?by=state").status_code == 401
        bad = c.get("/api/v1/export/compare?by=colour", headers=AUTH)
        assert bad.status_code == 422 and "query.by" in bad.text
        late = c.get("/api/v1/export/compare?by=state&since=2026-13-01", headers=AUTH)
        assert late.status_code == 422
    kentucky = next(x for x in body["columns"] if x["value"] == "KY")
    assert kentucky["suppressed"] and kentucky["responses"] is None
    assert all(set(cell.values()) - {None} == {cell["condition"]} for cell in kentucky["cells"])
    assert body["meta"]["min_group_size"] == 5


def test_the_long_csv_is_what_the_csv_module_writes_of_its_rows() -> None:
    """`long_csv` writes lines from fields escaped once (for speed, bench/export.py); it must
    be byte for byte what `csv.writer` makes of `long_values`, the rows the JSON has too: here
    with names and values that need quoting (commas, quotes, line breaks), empty group values,
    a suppressed group, a condition of another version (named by its slug), odd percentages."""
    from datetime import UTC, datetime

    from app.analytics.aggregates import COUNTS, Aggregate, Filters, Group
    from app.analytics.exports import LONG_COLUMNS, META_COLUMNS, Names, long_values
    from app.analytics.exports import long_csv as write_long_csv

    names = Names(
        {"a": 'Funding, "responsive"', "b": "Two\nlines", "c": "Plain"},
        {"0": "Not yet", "1": "Early, and", "2": '"2"', "3": "3", "unknown": "Not sure"},
    )

    def counts(*n: int) -> dict[str, int]:
        return dict(zip(COUNTS, n, strict=True))

    groups = [
        Group(
            {"state": "", "ref": "spring"},
            7,
            {"a": counts(1, 2, 3, 0, 1, 2, 5), "zz": counts(7, 0, 0, 0, 0, 0, 1)},
        ),
        Group(
            {"state": "OH", "ref": "a,b"},
            3,
            {"b": counts(1, 1, 1, 0, 0, 1, 3), "c": counts(0, 0, 0, 0, 3, 0, 0)},
        ),
        Group({"state": 'W"Y', "ref": ""}, 2, {"a": counts(2, 0, 0, 0, 0, 1, 2)}),  # below 5
    ]
    agg = Aggregate(
        ["state", "ref"], Filters(partner="news", ref="spring"), 5, groups, ["v1", "v,2"]
    )
    now = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    written = write_long_csv(agg, names, SCORING_VERSION, now)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow([*agg.group_by, *LONG_COLUMNS, *META_COLUMNS])
    meta = ("v1 v,2", SCORING_VERSION, "partner=news; ref=spring", 5, "2026-12-02T04:00:00Z")
    for values in long_values(agg, names):
        writer.writerow((*values[:-1], "true" if values[-1] else "false", *meta))
    assert written == expected.getvalue()
    assert len(written.splitlines()) > 30 and '"Funding, ""responsive"""' in written
    assert ",42.9," in written and ",,,true," in written  # 3 of 7; the withheld group
