"""Drafts (a quiz in progress at a private link) through the API and the form, on SQLite and
PostgreSQL: validation like a submission's, the error shape, the token kept only as a hash,
deletion after DRAFT_RETENTION_DAYS, and sending a draft through the usual submit path."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, update
from sqlmodel import Session, select

from app.models import Draft, ResponseRecord, utcnow
from quiz import Quiz
from tests.support import InProcessServer, LiveServer, app_settings, migrated


def partial_body(quiz: Quiz, **extra: Any) -> dict[str, Any]:
    first, second = quiz.questions[0], quiz.questions[1]
    return {
        "quiz_version": quiz.version,
        "answers": [
            {
                "question_id": first.id,
                "option_id": first.options[1].id,
                "evidence": {"note": "Board minutes, 4 May", "link": "https://example.org/m?x=1"},
            },
            {"question_id": second.id, "option_id": second.options[0].id},
        ],
        "context": {"state": "OH"},
        "priorities": ["responsive-funding-systems"],
        **extra,
    }


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


def test_create_read_replace(server: LiveServer | InProcessServer, quiz: Quiz) -> None:
    with server.client() as c:
        r = c.post("/api/v1/drafts", json=partial_body(quiz))
        assert r.status_code == 201, r.text
        assert r.headers["cache-control"] == "private, no-store"
        created = r.json()
        token = created["token"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 192 random bits
        assert created["url"].endswith(f"/drafts/{token}")
        assert created["draft"]["answers"][0]["evidence"]["note"] == "Board minutes, 4 May"
        assert created["draft"]["priorities"] == ["responsive-funding-systems"]
        assert created["response_id"] is None

        read = c.get(f"/api/v1/drafts/{token}")
        assert read.status_code == 200 and "token" not in read.json()
        assert read.json()["draft"] == created["draft"]

        changed = partial_body(quiz, priorities=[])
        changed["answers"] = changed["answers"][:1]
        put = c.put(f"/api/v1/drafts/{token}", json=changed)
        assert put.status_code == 200, put.text
        assert put.json()["updated_at"] >= created["updated_at"]
        again = c.get(f"/api/v1/drafts/{token}").json()
        assert len(again["draft"]["answers"]) == 1 and again["draft"]["priorities"] == []


def test_a_draft_may_be_incomplete_but_never_invalid(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    with server.client() as c:
        assert c.post("/api/v1/drafts", json={"quiz_version": quiz.version}).status_code == 201
        token = c.post("/api/v1/drafts", json=partial_body(quiz)).json()["token"]
        bad_cases = [
            (
                {"answers": [{"question_id": "no-such-question", "option_id": "x"}]},
                "unknown_question",
            ),
            ({"priorities": ["no-such-condition"]}, "unknown_condition"),
            ({"context": {"state": "ZZ"}}, "unknown_state"),
            ({"quiz_version": "1999-01"}, "quiz_version_mismatch"),
        ]
        for change, code in bad_cases:
            for send in (
                lambda b: c.post("/api/v1/drafts", json=b),
                lambda b: c.put(f"/api/v1/drafts/{token}", json=b),
            ):
                r = send({**partial_body(quiz), **change})
                assert r.status_code == 422, (change, r.text)
                assert code in {d["code"] for d in error_of(r)["details"]}
        q = quiz.questions[0]
        for evidence, field in (
            ({"link": "javascript:alert(1)"}, "answers.0.evidence.link"),
            ({"link": "ftp://example.org/file"}, "answers.0.evidence.link"),
            ({"link": "https://" + "a" * 500}, "answers.0.evidence.link"),
            ({"note": "x" * 501}, "answers.0.evidence.note"),
            ({"comment": "unknown field"}, "answers.0.evidence.comment"),
        ):
            body = {
                "quiz_version": quiz.version,
                "answers": [
                    {"question_id": q.id, "option_id": q.options[0].id, "evidence": evidence}
                ],
            }
            r = c.post("/api/v1/drafts", json=body)
            assert r.status_code == 422, (evidence, r.text)
            assert field in {d["field"] for d in error_of(r)["details"]}
        # The draft is as it was before every refused change.
        assert len(c.get(f"/api/v1/drafts/{token}").json()["draft"]["answers"]) == 2


def test_unknown_links_are_404_in_the_error_shape(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    with server.client() as c:
        for token in ("x" * 32, "short", "has spaces and more than thirty-two chars"):
            r = c.get(f"/api/v1/drafts/{token}")
            assert r.status_code == 404 and error_of(r)["code"] == "not_found"
            r = c.put(f"/api/v1/drafts/{token}", json=partial_body(quiz))
            assert r.status_code == 404
        r = c.post("/api/v1/drafts", content=b"{}", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415


def test_the_token_is_kept_only_as_its_hash(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        token = c.post("/api/v1/drafts", json=partial_body(quiz)).json()["token"]
    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.exec(select(Draft)).all()
    engine.dispose()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token.encode() not in (tmp_path / "quiz.db").read_bytes()


def _draft_rows(url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(url)
    with Session(engine) as session:
        rows = {d.token_hash: dict(d.content) for d in session.exec(select(Draft)).all()}
    engine.dispose()
    return rows


def _set_content(url: str, token: str, content: dict[str, Any]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            update(Draft)
            .where(Draft.token_hash == hashlib.sha256(token.encode()).hexdigest())  # type: ignore[arg-type]
            .values(content=content)
        )
    engine.dispose()


def test_a_team_link_is_kept_sealed(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    """A team member's draft keeps the team's join token, which the teams table keeps only as
    a hash: sealed under the draft's own token, so the database holds no usable secret; the
    link's holder gets it back, a sealed link moved to another row does not open, and rows
    saved before sealing are still read."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        join = c.post("/api/v1/teams", json={"name": "Ohio"}).json()["join_token"]
        mine = c.post("/api/v1/drafts", json=partial_body(quiz, team=join)).json()["token"]
        other = c.post("/api/v1/drafts", json=partial_body(quiz)).json()["token"]
        assert join.encode() not in (tmp_path / "quiz.db").read_bytes()
        rows = _draft_rows(url)
        sealed = rows[hashlib.sha256(mine.encode()).hexdigest()]
        assert "team" not in sealed and join not in str(rows)
        assert c.get(f"/api/v1/drafts/{mine}").json()["draft"]["team"] == join
        # Saved again: sealed again, with a fresh nonce.
        c.put(f"/api/v1/drafts/{mine}", json=partial_body(quiz, team=join))
        resealed = _draft_rows(url)[hashlib.sha256(mine.encode()).hexdigest()]
        assert resealed["team_sealed"] != sealed["team_sealed"]
        assert c.get(f"/api/v1/drafts/{mine}").json()["draft"]["team"] == join
        # Copied into another draft's row, it does not open there: read without a team.
        _set_content(
            url,
            other,
            {
                **_draft_rows(url)[hashlib.sha256(other.encode()).hexdigest()],
                "team_sealed": resealed["team_sealed"],
            },
        )
        moved = c.get(f"/api/v1/drafts/{other}")
        assert moved.status_code == 200 and moved.json()["draft"].get("team") is None
        # A row from before sealing (the token in plain) reads as it did; its next save seals it.
        _set_content(url, mine, {**partial_body(quiz), "team": join})
        page = c.get(f"/drafts/{mine}").text
        assert "member of the team “Ohio”" in page
        c.put(f"/api/v1/drafts/{mine}", json=partial_body(quiz, team=join))
        assert join not in str(_draft_rows(url))


def _age(url: str, days: float) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(Draft).values(updated_at=utcnow() - timedelta(days=days)))
    engine.dispose()


def test_drafts_are_deleted_after_the_retention_time(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url, draft_retention_days=7)).client() as c:
        kept = c.post("/api/v1/drafts", json=partial_body(quiz)).json()
        assert kept["expires_at"][:10] == (utcnow() + timedelta(days=7)).date().isoformat()
        _age(url, 6.9)
        assert c.get(f"/api/v1/drafts/{kept['token']}").status_code == 200
        _age(url, 7.1)
        # Read past its time: gone, and said so (page and API).
        gone = c.get(f"/api/v1/drafts/{kept['token']}")
        assert gone.status_code == 404 and "7 days" in error_of(gone)["message"]
        page = c.get(f"/drafts/{kept['token']}", headers={"Accept": "text/html"})
        assert page.status_code == 404 and "<html" in page.text
        # Created drafts sweep older ones.
        old = c.post("/api/v1/drafts", json=partial_body(quiz)).json()["token"]
        _age(url, 8)
        c.post("/api/v1/drafts", json=partial_body(quiz))
    engine = create_engine(url)
    with Session(engine) as session:
        hashes = {d.token_hash for d in session.exec(select(Draft)).all()}
    engine.dispose()
    assert hashlib.sha256(old.encode()).hexdigest() not in hashes and len(hashes) == 1


def test_the_cli_purges_old_drafts(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        c.post("/api/v1/drafts", json=partial_body(quiz))
        c.post("/api/v1/drafts", json=partial_body(quiz))
    _age(url, 31)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "drafts", "purge"],
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deleted 2 drafts last saved 30 or more days ago" in done.stdout


def _form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_save_and_continue_later_without_javascript(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        form_token = _form_token(c.get("/quiz").text)
        q0, q1 = quiz.questions[0], quiz.questions[1]
        fields = {
            "quiz_version": quiz.version,
            "form_token": form_token,
            q0.id: q0.options[1].id,
            f"note-{q0.id}": "<script>alert('x')</script> statute 12",
            f"link-{q0.id}": "https://example.org/law",
            "priority": "responsive-funding-systems",
            "state": "OH",
        }
        r = c.post("/quiz/save", data=fields, follow_redirects=False)
        assert r.status_code == 303, r.text
        path = r.headers["location"].split("?")[0]
        token = path.removeprefix("/drafts/")
        page = c.get(r.headers["location"])
        assert page.status_code == 200
        assert page.headers["cache-control"] == "private, no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        text = page.text
        assert "Anyone with this link can see and change these answers." in text
        assert "deleted 30 days after they were last saved" in text
        assert f'id="{q0.id}-{q0.options[1].id}" value="{q0.options[1].id}" checked' in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; statute 12" in text
        assert "<script>alert(" not in text
        assert 'value="https://example.org/law"' in text
        assert (
            'id="priority-responsive-funding-systems" value="responsive-funding-systems" checked'
            in text
        )
        assert f'name="draft" value="{token}"' in text

        # Saved again from the restored form: the same link, the new answer kept.
        again = {**fields, "draft": token, q1.id: q1.options[0].id}
        r = c.post("/quiz/save", data=again, follow_redirects=False)
        assert r.headers["location"].split("?")[0] == path
        draft = c.get(f"/api/v1/drafts/{token}").json()["draft"]
        assert [a["question_id"] for a in draft["answers"]] == [q0.id, q1.id]

        # A bad link is named next to its question; nothing is saved, nothing lost.
        bad = {**again, f"link-{q1.id}": "javascript:alert(1)", f"note-{q1.id}": "kept"}
        r = c.post("/quiz/save", data=bad, follow_redirects=False)
        assert r.status_code == 422
        assert "starting with http:// or https://" in r.text and f'href="#link-{q1.id}"' in r.text
        assert ">kept</textarea>" in r.text
        assert len(c.get(f"/api/v1/drafts/{token}").json()["draft"]["answers"]) == 2

        # Finished from the draft: stored through the usual path, the draft points to it.
        full = {"quiz_version": quiz.version, "form_token": form_token, "draft": token}
        full |= {q.id: q.options[1].id for q in quiz.questions}
        full[f"note-{q0.id}"] = "statute 12"
        sent = c.post("/quiz", data=full, follow_redirects=False)
        assert sent.status_code == 303
        response_id = sent.headers["location"].removeprefix("/results/")
        # A double click of the same form stores it once (the form token's key).
        assert (
            c.post("/quiz", data=full, follow_redirects=False).headers["location"]
            == sent.headers["location"]
        )
        assert c.get(f"/api/v1/drafts/{token}").json()["response_id"] == response_id
        assert "see that result" in c.get(path).text
    engine = create_engine(url)
    with Session(engine) as session:
        stored = session.get(ResponseRecord, response_id)
        assert stored is not None
        assert stored.answers[0]["evidence"] == {"note": "statute 12"}
        assert all("evidence" not in a for a in stored.answers[1:])
    engine.dispose()


def test_a_team_members_draft_counts_for_the_team(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    with server.client() as c:
        team = c.post("/api/v1/teams", json={"name": "Ohio"}).json()
        r = c.post("/api/v1/drafts", json=partial_body(quiz, team=team["join_token"]))
        assert r.status_code == 201
        page = c.get(f"/drafts/{r.json()['token']}").text
        assert "member of the team “Ohio”" in page
        assert f'name="team" value="{team["join_token"]}"' in page
        unknown = c.post("/api/v1/drafts", json=partial_body(quiz, team="not-a-team"))
        assert unknown.status_code == 404 and error_of(unknown)["details"][0]["field"] == "team"
