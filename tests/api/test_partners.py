"""Partners: the CLI, API keys, CORS, embed pages and their framing, and /embed.js."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session

from app.errors import PartnerError
from app.main import create_app
from app.models import Partner, ResponseRecord, WebhookDelivery
from app.partners.registry import check_webhook_url, create_partner, revoke_partner
from quiz import Quiz
from tests.support import app_settings, live_server, migrated

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://news.example.org"
OTHER = "https://evil.example.com"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return migrated(f"sqlite:///{tmp_path / 'quiz.db'}")


def add_partner(url: str, slug: str = "news", **extra: object) -> tuple[str, Partner]:
    engine = create_engine(url)
    with Session(engine) as session:
        created = create_partner(
            session,
            name=f"{slug} site",
            slug=slug,
            origins=[ORIGIN, "http://localhost:9999"],
            webhook_url=extra.get("webhook_url"),  # type: ignore[arg-type]
            rate_limit_per_minute=int(extra.get("rate_limit", 600)),  # type: ignore[call-overload]
            allow_private_webhooks=bool(extra.get("allow_private", False)),
        )
        session.expunge(created.partner)
    engine.dispose()
    return created.api_key, created.partner


@pytest.fixture
def app_with_partner(db_url: str) -> Iterator[tuple[TestClient, str]]:
    key, _ = add_partner(db_url)
    app = create_app(app_settings(db_url, allowed_origins="https://friend.example.net"))
    with TestClient(app, follow_redirects=False) as client:
        yield client, key


def body(quiz: Quiz, **extra: object) -> dict[str, object]:
    return {"quiz_version": quiz.version, "answers": [], **extra}


def stored_partner(url: str, response_id: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as conn:
        partner = conn.execute(
            select(ResponseRecord.partner).where(ResponseRecord.id == response_id)  # type: ignore[call-overload]
        ).scalar_one()
    engine.dispose()
    return partner  # type: ignore[no-any-return]


# --- the command line --------------------------------------------------------------------------


def cli(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "partners", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.live
def test_cli_manages_partners(db_url: str, quiz: Quiz) -> None:
    added = cli(
        db_url,
        "add",
        "--name",
        "State News",
        "--origin",
        ORIGIN,
        "--webhook",
        "https://93.184.216.34/hook",
    )
    assert added.returncode == 0, added.stderr
    key = re.search(r"API key:\s+(\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    assert re.search(r"webhook secret:\s+whsec_\S+", added.stdout)
    assert "state-news" in cli(db_url, "list").stdout
    engine = create_engine(db_url)
    with Session(engine) as session:
        partner = session.exec(select(Partner)).one()[0]  # type: ignore[call-overload]
        assert key not in json.dumps(partner.model_dump(mode="json"))  # only its hash is stored
    engine.dispose()
    app = create_app(app_settings(db_url))
    with TestClient(app) as client:
        assert (
            client.post(
                "/api/v1/responses", json=body(quiz), headers={"X-API-Key": key}
            ).status_code
            == 201
        )
        rotated = cli(db_url, "rotate-key", "state-news")
        new_key = re.search(r"new API key: (\S+)", rotated.stdout).group(1)  # type: ignore[union-attr]
        assert (
            client.post(
                "/api/v1/responses", json=body(quiz), headers={"X-API-Key": key}
            ).status_code
            == 401
        )
        assert (
            client.post(
                "/api/v1/responses", json=body(quiz), headers={"X-API-Key": new_key}
            ).status_code
            == 201
        )
        assert cli(db_url, "revoke", "state-news").returncode == 0
        assert (
            client.post(
                "/api/v1/responses", json=body(quiz), headers={"X-API-Key": new_key}
            ).status_code
            == 401
        )
    assert "revoked" in cli(db_url, "list").stdout
    assert cli(db_url, "deliveries", "state-news").returncode == 0


@pytest.mark.live
@pytest.mark.parametrize(
    ("webhook", "message"),
    [
        ("https://127.0.0.1/hook", "private or loopback"),
        ("https://localhost/hook", "private or loopback"),
        ("https://10.1.2.3/hook", "private or loopback"),
        ("http://93.184.216.34/hook", "must use https"),
        ("ftp://93.184.216.34/hook", "not an http(s) URL"),
    ],
)
def test_cli_refuses_webhooks_that_could_reach_our_network(
    db_url: str, webhook: str, message: str
) -> None:
    refused = cli(db_url, "add", "--name", "X", "--origin", ORIGIN, "--webhook", webhook)
    assert refused.returncode == 2 and message in refused.stderr
    assert "API key" not in refused.stdout


# Addresses a webhook must never reach, in every spelling: the embedded IPv4 address is what a
# NAT64 gateway, a 6to4 relay, a Teredo relay or the kernel's IPv4-mapped sockets would connect
# to (Finding 9: `https://[64:ff9b::7f00:1]/` passed the check).
REFUSED_ADDRESSES = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # cloud metadata (AWS, GCP, Azure)
    "100.100.100.200",  # Alibaba Cloud metadata
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fec0::1",  # site-local (deprecated, still routed by some)
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:0:10.0.0.1",  # IPv4-translated (SIIT)
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "::8.8.8.8",
    "64:ff9b::7f00:1",  # NAT64 well-known prefix: 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64: 169.254.169.254
    "64:ff9b::10.0.0.1",
    "64:ff9b:1::808:808",  # the local-use NAT64 prefix, never public
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001::1",
    "2001:db8::1",  # documentation
]
ALLOWED_ADDRESSES = ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808", "::ffff:8.8.8.8"]


def _url(address: str) -> str:
    return f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook"


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_webhooks_refuse_private_addresses_in_every_form(address: str) -> None:
    with pytest.raises(PartnerError, match="private or loopback"):
        check_webhook_url(_url(address), allow_private=False)


@pytest.mark.parametrize("address", ALLOWED_ADDRESSES)
def test_webhooks_accept_public_addresses_in_every_form(address: str) -> None:
    assert check_webhook_url(_url(address), allow_private=False) == _url(address)


@pytest.mark.live
def test_cli_rejects_bad_origins_and_duplicates(db_url: str) -> None:
    assert (
        "must be an origin only"
        in cli(db_url, "add", "--name", "X", "--origin", "https://a.org/page").stderr
    )
    assert cli(db_url, "add", "--name", "X", "--origin", ORIGIN).returncode == 0
    assert "already exists" in cli(db_url, "add", "--name", "X", "--origin", ORIGIN).stderr


# --- API keys and CORS -------------------------------------------------------------------------


def test_api_key_attributes_the_response(app_with_partner, quiz: Quiz, db_url: str) -> None:  # type: ignore[no-untyped-def]
    client, key = app_with_partner
    r = client.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": key})
    assert r.status_code == 201
    assert stored_partner(db_url, r.json()["id"]) == "news"
    same = client.post(
        "/api/v1/responses", json=body(quiz, partner="news"), headers={"X-API-Key": key}
    )
    assert same.status_code == 201
    other = client.post(
        "/api/v1/responses", json=body(quiz, partner="rival"), headers={"X-API-Key": key}
    )
    assert other.status_code == 422
    assert other.json()["error"]["details"][0] == {
        "field": "partner",
        "code": "partner_mismatch",
        "message": "the API key belongs to 'news'; leave partner out or send it",
    }
    wrong = client.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": "sq_news_nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"


def test_revoked_key_is_401(app_with_partner, quiz: Quiz, db_url: str) -> None:  # type: ignore[no-untyped-def]
    client, key = app_with_partner
    engine = create_engine(db_url)
    with Session(engine) as session:
        revoke_partner(session, "news")
    engine.dispose()
    r = client.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": key})
    assert r.status_code == 401 and r.json()["error"]["message"]


def test_cors(app_with_partner, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_with_partner
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key",
    }
    ok = client.options("/api/v1/responses", headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "X-API-Key" in ok.headers["access-control-allow-headers"]
    refused = client.options("/api/v1/responses", headers={"Origin": OTHER, **preflight})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert "access-control-allow-origin" not in refused.headers
    friend = client.options(
        "/api/v1/responses", headers={"Origin": "https://friend.example.net", **preflight}
    )
    assert friend.status_code == 204

    posted = client.post("/api/v1/responses", json=body(quiz), headers={"Origin": ORIGIN})
    assert (
        posted.headers["access-control-allow-origin"] == ORIGIN
        and "Origin" in posted.headers["vary"]
    )
    foreign = client.post("/api/v1/score", json=body(quiz), headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in foreign.headers
    for path in ("/api/v1/quiz", "/api/v1/framework", "/api/v1/conditions/measuring-success"):
        r = client.get(path, headers={"Origin": OTHER})
        assert r.headers["access-control-allow-origin"] == "*"
        pre = client.options(
            path, headers={"Origin": OTHER, "Access-Control-Request-Method": "GET"}
        )
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"


# --- embed pages and framing -------------------------------------------------------------------


def test_embed_pages_may_be_framed_only_by_the_partner(
    app_with_partner, quiz: Quiz, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_with_partner
    plain = client.get("/quiz")
    assert "frame-ancestors 'self'" in plain.headers["content-security-policy"]
    page = client.get(f"/quiz?embed=1&partner=news&parent_origin={ORIGIN}&state=OH&role=legislator")
    assert page.status_code == 200
    assert (
        f"frame-ancestors 'self' http://localhost:9999 {ORIGIN}"
        in page.headers["content-security-policy"]
    )
    assert f'data-parent-origin="{ORIGIN}"' in page.text and "embed-frame.js" in page.text
    assert (
        '<option value="OH" selected>' in page.text
        and '<option value="legislator" selected>' in page.text
    )
    assert 'action="/quiz?embed=1&amp;partner=news&amp;parent_origin=' in page.text
    stranger = client.get(f"/quiz?embed=1&partner=news&parent_origin={OTHER}")
    assert "data-parent-origin" not in stranger.text  # never posts to an unregistered page
    for slug in ("nobody", "<script>"):
        unknown = client.get(f"/quiz?embed=1&partner={slug}")
        assert unknown.status_code == 404 and "not available for embedding" in unknown.text
        # Framable by any site, so the visitor reads this instead of a broken frame; it holds
        # no form, and its link leaves the frame.
        assert "frame-ancestors *" in unknown.headers["content-security-policy"]
        assert "<form" not in unknown.text and 'target="_blank" rel="noopener"' in unknown.text
        assert "<script>" not in unknown.text.replace("<script src=", "")


def test_the_unknown_partner_page_posts_only_to_an_origin_shaped_parent(
    app_with_partner,
) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_with_partner
    page = client.get(f"/quiz?embed=1&partner=nobody&parent_origin={OTHER}")
    assert f'data-parent-origin="{OTHER}"' in page.text and "embed-frame.js" in page.text
    for odd in ("javascript:alert(1)", "https://x.example/path", '"><script>'):
        page = client.get("/quiz", params={"embed": "1", "partner": "nobody", "parent_origin": odd})
        assert page.status_code == 404 and "data-parent-origin" not in page.text


def test_a_what_if_inside_an_embed_stays_in_it(app_with_partner, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    """The what-if's own form (without JavaScript) keeps the partner and where events go, so
    the changed page may still be framed by the partner and saves to the partner."""
    client, _ = app_with_partner
    form = {"quiz_version": quiz.version, **{q.id: q.options[1].id for q in quiz.questions}}
    embed = f"embed=1&partner=news&parent_origin={ORIGIN}"
    stored = client.post(f"/quiz?{embed}", data=form | embed_fields(client)).headers["location"]
    response_id = stored.split("/results/")[1].split("?")[0]
    page = client.get(f"/results/{response_id}/what-if?{embed}").text
    for name, value in (("embed", "1"), ("partner", "news"), ("parent_origin", ORIGIN)):
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    funding = quiz.questions_for("responsive-funding-systems")[0]
    changed = client.get(
        f"/results/{response_id}/what-if?{embed}&{funding.id}={funding.options[3].id}"
    )
    assert (
        f"frame-ancestors 'self' http://localhost:9999 {ORIGIN}"
        in changed.headers["content-security-policy"]
    )
    assert 'action="/quiz?embed=1&amp;partner=news' in changed.text
    # Its "Save this version" carries the partner's embed token: saved, it is the partner's.
    token = re.search(r'name="embed_token" value="([^"]+)"', changed.text)
    assert token is not None


def test_embedded_submission_is_attributed_and_announced(
    app_with_partner, quiz: Quiz, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_with_partner
    form = {"quiz_version": quiz.version, **{q.id: q.options[1].id for q in quiz.questions}}
    r = client.post(f"/quiz?{EMBED}", data=form | embed_fields(client))
    assert r.status_code == 303
    location = r.headers["location"]
    assert "embed=1" in location and "partner=news" in location and "completed=1" in location
    response_id = location.split("/results/")[1].split("?")[0]
    assert stored_partner(db_url, response_id) == "news"
    page = client.get(location)
    assert ORIGIN in page.headers["content-security-policy"]
    island = re.search(
        r'<script type="application/json" id="statequiz-completed">(.*?)</script>', page.text
    )
    assert island is not None
    event = json.loads(island.group(1))
    api = client.get(f"/api/v1/responses/{response_id}").json()["result"]
    assert event["id"] == response_id and event["top"] == api["begin_here"]
    assert event["stages"] == {c["slug"]: c["stage"] for c in api["conditions"]}
    assert event["result_url"].endswith(f"/results/{response_id}")
    again = client.get(f"/results/{response_id}?embed=1&partner=news&parent_origin={ORIGIN}")
    assert "statequiz-completed" not in again.text  # announced once, after the submission


def test_embed_script(app_with_partner) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_with_partner
    r = client.get("/embed.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "max-age" in r.headers["cache-control"] and r.headers["etag"]
    assert "postMessage" not in r.text or "'*'" not in r.text
    assert len(gzip.compress(r.content)) < 4096
    again = client.get("/embed.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


# --- attribution a partner can trust -----------------------------------------------------------

EMBED = f"embed=1&partner=news&parent_origin={ORIGIN}"


def full_form(quiz: Quiz, n: int = 1) -> dict[str, str]:
    return {
        "quiz_version": quiz.version,
        **{q.id: q.options[n % len(q.options)].id for q in quiz.questions},
    }


def embed_fields(client: httpx.Client | TestClient, query: str = EMBED) -> dict[str, str]:
    """The hidden tokens the embed page hands out, as the browser in the partner's frame sends
    them back."""
    page = client.get(f"/quiz?{query}").text
    return dict(re.findall(r'name="(form_token|embed_token)" value="([^"]+)"', page))


def stored_rows(url: str) -> list[tuple[str, str | None, str | None]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, partner, attribution FROM responses ORDER BY created_at")
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def response_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(ResponseRecord)).scalar_one()
    engine.dispose()
    return int(n)


def test_the_api_names_a_partner_only_with_its_key(
    app_with_partner, quiz: Quiz, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    """The issue: the API stored any `partner` sent without a key, registered or not. Now the
    field needs the partner's key (401 naming it), and a key names its own partner only."""
    client, key = app_with_partner
    for slug in ("news", "nobody"):
        r = client.post("/api/v1/responses", json=body(quiz, partner=slug))
        assert r.status_code == 401, r.text
        [detail] = r.json()["error"]["details"]
        assert detail["field"] == "partner" and detail["code"] == "partner_needs_key"
    keyed = client.post(
        "/api/v1/responses", json=body(quiz, partner="nobody"), headers={"X-API-Key": key}
    )
    assert keyed.status_code == 422 and keyed.json()["error"]["details"][0]["field"] == "partner"
    assert response_count(db_url) == 0
    assert client.post("/api/v1/responses", json=body(quiz)).status_code == 201


def test_a_widget_post_without_its_embed_token_is_refused(
    app_with_partner, quiz: Quiz, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    """The issue's attack: `POST /quiz?embed=1&partner=news` from any origin was stored as the
    partner's (and its webhook signed and sent). The embed page now carries a token the server
    signed for that partner; without it, or with a forged, stale or other partner's one, the
    form comes back with the answers kept and a fresh token, and nothing is stored."""
    client, _ = app_with_partner
    add_partner(db_url, "rival")
    now = int(time.time())
    for token in (None, f"{now}.forged-signature-aaaaaaaaaa", "", "x" * 99, "rival's"):
        if token == "rival's":  # a real token, issued for another partner's widget
            token = embed_fields(client, "embed=1&partner=rival")["embed_token"]
        data = full_form(quiz) | ({} if token is None else {"embed_token": token})
        r = client.post(f"/quiz?{EMBED}", data=data, headers={"Origin": OTHER})
        assert r.status_code == 422, (token, r.status_code)
        assert "send your answers again" in r.text
        fresh = re.search(r'name="embed_token" value="([^"]+)"', r.text)
        assert fresh is not None and fresh.group(1) != token
        q = quiz.questions[0]
        assert f'id="{q.id}-{q.options[1].id}" value="{q.options[1].id}" checked' in r.text
    assert response_count(db_url) == 0
    sent = client.post(f"/quiz?{EMBED}", data=full_form(quiz) | embed_fields(client))
    assert sent.status_code == 303
    [(_, partner, attribution)] = stored_rows(db_url)
    assert (partner, attribution) == ("news", "widget")


@contextmanager
def serving(database_url: str, **overrides: object) -> Iterator[httpx.Client | TestClient]:
    """A client of the app on a database that has a partner: in-process on SQLite, through
    uvicorn on PostgreSQL (as the `server` fixture, with settings of the test's own)."""
    if database_url.startswith("sqlite"):
        settings = app_settings(database_url, **overrides)
        with TestClient(create_app(settings), follow_redirects=False) as client:
            yield client
        return
    with live_server(database_url, **overrides) as server, server.client() as client:
        yield client


def test_widget_submissions_count_against_the_partners_own_limit(
    database_url: str, quiz: Quiz
) -> None:
    db_url = migrated(database_url)
    add_partner(db_url, rate_limit=2)
    with serving(db_url, rate_limit_per_minute=100) as client:
        statuses = [
            client.post(f"/quiz?{EMBED}", data=full_form(quiz, n) | embed_fields(client))
            for n in range(3)
        ]
        assert [r.status_code for r in statuses] == [303, 303, 429]
        assert statuses[2].headers["retry-after"]
        # The address's own limit is apart from the partner's: the plain form still stores.
        assert client.post("/quiz", data=full_form(quiz)).status_code == 303
    assert response_count(db_url) == 3


def test_attribution_is_stored_served_exported_and_sent(database_url: str, quiz: Quiz) -> None:
    """How a response came to be the partner's: `api_key` or `widget`, null when it is no
    partner's; in the stored row, the API, the export (group_by=attribution) and the webhook."""
    db_url = migrated(database_url)
    key, _ = add_partner(db_url, webhook_url="http://127.0.0.1:9/hook", allow_private=True)
    with serving(db_url, export_token="t", min_group_size=1) as client:
        by_key = client.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": key})
        widget = client.post(f"/quiz?{EMBED}", data=full_form(quiz) | embed_fields(client))
        widget_id = widget.headers["location"].split("/results/")[1].split("?")[0]
        plain = client.post("/api/v1/responses", json=body(quiz))
        served = {
            rid: client.get(f"/api/v1/responses/{rid}").json()
            for rid in (by_key.json()["id"], widget_id, plain.json()["id"])
        }
        assert [(s["partner"], s["attribution"]) for s in served.values()] == [
            ("news", "api_key"),
            ("news", "widget"),
            (None, None),
        ]
        export = client.get(
            "/api/v1/export/aggregate?group_by=partner,attribution",
            headers={"Authorization": "Bearer t"},
        ).json()
        assert export["meta"]["columns"][:2] == ["partner", "attribution"]
        groups = {(r["partner"], r["attribution"]): r["group_responses"] for r in export["rows"]}
        assert groups == {("news", "api_key"): 1, ("news", "widget"): 1, ("", ""): 1}
    engine = create_engine(db_url)
    with Session(engine) as session:
        payloads = {
            d.response_id: json.loads(d.payload)
            for d in session.exec(select(WebhookDelivery)).scalars()  # type: ignore[call-overload]
        }
    engine.dispose()
    assert {rid: p["attribution"] for rid, p in payloads.items()} == {
        by_key.json()["id"]: "api_key",
        widget_id: "widget",
    }


def test_attribution_is_part_of_a_release_batch(db_url: str, quiz: Quiz) -> None:
    """Aggregates publish responses in batches of MIN_GROUP_SIZE that share every dimension an
    export can group on (docs/privacy.md), attribution included: a batch mixing a widget
    response and a keyed one would let `group_by=attribution` show each of them alone."""
    key, _ = add_partner(db_url)
    auth = {"Authorization": "Bearer t"}
    with serving(db_url, export_token="t", min_group_size=2) as client:

        def both() -> None:
            client.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": key})
            client.post(f"/quiz?{EMBED}", data=full_form(quiz) | embed_fields(client))

        def shown() -> dict[str, int]:
            export = client.get("/api/v1/export/aggregate?group_by=attribution", headers=auth)
            return {r["attribution"]: r["group_responses"] for r in export.json()["rows"]}

        both()
        assert shown() == {}  # one of each: no batch of two is complete
        both()
        assert shown() == {"api_key": 2, "widget": 2}
