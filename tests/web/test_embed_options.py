"""The widget's options (issue 23, part 1) through the real app and its SQLite database: the
look as a generated stylesheet that no value can inject into, compact mode, hidden links,
links that leave the frame, shares to the partner's page, a `ref` stored and returned, the
reason an unavailable embed gives, the preview on our partner page, and that page itself."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from app.main import create_app
from app.models import WebhookDelivery
from app.partners.registry import revoke_partner
from app.web.theme import Theme, colour, contrast, font_stack, radius
from quiz import Quiz
from tests.api.test_partners import EMBED, ORIGIN, add_partner, embed_fields, full_form
from tests.support import app_settings, migrated


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return migrated(f"sqlite:///{tmp_path / 'quiz.db'}")


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    add_partner(db_url, webhook_url="http://127.0.0.1:9/hook", allow_private=True)
    add_partner(db_url, "gone")
    engine = create_engine(db_url)
    with Session(engine) as session:
        revoke_partner(session, "gone")
    engine.dispose()
    with TestClient(create_app(app_settings(db_url)), follow_redirects=False) as c:
        yield c


INJECTIONS = [
    "red;}body{display:none}",
    "#fff;background:url(//evil.example.com/x)",
    "#12345g",
    "</style><script>alert(1)</script>",
    "expression(alert(1))",
    "#fff\n}",
]


def test_only_colours_fonts_radii_and_schemes_are_accepted() -> None:
    assert colour("#ABC") == "#aabbcc" and colour(" #0b5394 ") == "#0b5394"
    assert all(colour(v) is None for v in [*INJECTIONS, "red", "rgb(0,0,0)", "", None])
    assert font_stack('"Source Serif 4", Georgia, serif') == ("Source Serif 4", "Georgia", "serif")
    for bad in ("Arial;} *{color:red", "Arial, url(x)", "a,b,c,d,e", "Ar\\69al", "x" * 41, "'"):
        assert font_stack(bad) is None, bad
    assert [radius(v) for v in ("0", "24", "25", "-1", "4px", "٣", "")] == [0, 24, None] + [
        None
    ] * 4


@pytest.mark.parametrize("value", INJECTIONS)
def test_the_theme_stylesheet_never_echoes_what_it_was_sent(client: TestClient, value: str) -> None:
    for name in ("accent", "font", "radius", "scheme"):
        r = client.get(f"/embed/theme.css?{name}={quote(value)}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
        assert r.text == "\n"  # nothing valid, nothing written
        assert "nosniff" in r.headers["x-content-type-options"]


def test_the_theme_stylesheet_sets_readable_custom_properties(client: TestClient) -> None:
    css = client.get("/embed/theme.css?accent=%23ffcc00&font=Georgia,serif&radius=0&scheme=auto")
    text_ = css.text
    assert '--font: "Georgia", serif, system-ui' in text_ and "--radius: 0px;" in text_
    # A light accent: dark text on buttons, and links keep a colour with 4.5:1 on white.
    assert "--on-accent: #1b1b1b;" in text_ and "--link: #0b5394;" in text_
    assert "@media (prefers-color-scheme: dark)" in text_ and "color-scheme: dark" in text_
    dark = Theme(accent="#0b5394", scheme="dark").css()
    assert "@media" not in dark and "--link: #8fc1ff;" in dark  # dark blue is unreadable on dark
    assert contrast("#8fc1ff", "#121417") >= 4.5 and contrast("#0b5394", "#ffffff") >= 4.5


def test_a_themed_compact_embed_links_its_stylesheet_and_drops_the_preamble(
    client: TestClient, quiz: Quiz
) -> None:
    page = client.get(
        f"/quiz?{EMBED}&accent=%23ABC&font=Georgia&radius=12&scheme=dark&compact=1"
        "&accent2=x&hide=whatif,bogus"
    ).text
    href = "/embed/theme.css?accent=%23aabbcc&amp;font=Georgia&amp;radius=12&amp;scheme=dark"
    assert f'<link rel="stylesheet" href="{href}">' in page
    assert 'class="embed embed-compact"' in page
    assert '<h1 class="visually-hidden">' in page  # still a page title for screen readers
    assert 'class="lead"' not in page and 'class="definition"' not in page
    assert "(our grouping)" in page  # our reading stays labelled where the questions are
    # The parsed options travel with the form, so the result keeps the same look.
    action = re.search(r'<form method="post" action="([^"]+)" id="quiz-form"', page)
    assert (
        action is not None
        and "compact=1" in action.group(1)
        and action.group(1).endswith("&amp;hide=whatif")
    )
    injected = client.get(
        f"/quiz?{EMBED}&accent={quote(INJECTIONS[0])}&font={quote(INJECTIONS[3])}"
    )
    assert "theme.css" not in injected.text and "evil" not in injected.text
    assert "display:none" not in injected.text and "alert(1)" not in injected.text
    plain = client.get(f"/quiz?{EMBED}").text
    assert 'class="lead"' in plain and "theme.css" not in plain


def submit_in_embed(client: TestClient, quiz: Quiz, query: str) -> tuple[str, str]:
    r = client.post(f"/quiz?{query}", data=full_form(quiz) | embed_fields(client, query))
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    return location.split("/results/")[1].split("?")[0], location


def test_result_in_the_frame_hides_links_opens_sources_outside_and_shares_the_partners_page(
    client: TestClient, quiz: Quiz
) -> None:
    share = f"{ORIGIN}/2027/quiz-story?utm=x#quiz"
    query = f"{EMBED}&hide=whatif,retake&share_url={quote(share)}"
    response_id, location = submit_in_embed(client, quiz, query)
    page = client.get(location).text
    assert "Try other answers" not in page and "Retake the quiz" not in page
    assert "Change your answers" not in page
    sources = re.findall(r'<p class="source">Source: <a href="[^"]+"([^>]*)>', page)
    assert sources and all(a == ' target="_blank" rel="noopener"' for a in sources)
    assert "(opens in a new tab)" in page
    expected = f"{ORIGIN}/2027/quiz-story?utm=x&amp;statequiz_result={response_id}#quiz"
    assert f'id="share-url" type="text" readonly value="{expected}"' in page
    island = re.search(r'id="statequiz-result">(.*?)</script>', page)
    assert island is not None
    event = json.loads(island.group(1))
    assert event["id"] == response_id and event["result_url"].endswith(f"/results/{response_id}")
    assert event["share_url"].startswith(f"{ORIGIN}/2027/quiz-story?utm=x&statequiz_result=")
    plain = client.get(f"/results/{response_id}").text
    assert "Try other answers" in plain and 'target="_blank"' not in plain
    assert "statequiz-result" not in plain
    for foreign in ("https://evil.example.com/a", "javascript:alert(1)", f"{ORIGIN}:444/a"):
        other = client.get(f"/results/{response_id}?{EMBED}&share_url={quote(foreign)}").text
        assert f'readonly value="http://testserver/results/{response_id}"' in other, foreign


def test_ref_is_stored_returned_and_sent_to_the_webhook(
    client: TestClient, quiz: Quiz, db_url: str
) -> None:
    tagged, _ = submit_in_embed(client, quiz, f"{EMBED}&ref=spring-2027.news_1")
    untagged, _ = submit_in_embed(client, quiz, f"{EMBED}&ref={quote('bad tag;drop')}")
    plain = client.post("/quiz?embed=1&ref=orphan", data=full_form(quiz))
    plain_id = plain.headers["location"].split("/results/")[1].split("?")[0]
    served = {
        rid: client.get(f"/api/v1/responses/{rid}").json() for rid in (tagged, untagged, plain_id)
    }
    assert [s["ref"] for s in served.values()] == ["spring-2027.news_1", None, None]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, ref FROM responses")).all())
    with Session(engine) as session:
        payloads = {
            d.response_id: json.loads(d.payload) for d in session.exec(select(WebhookDelivery))
        }
    engine.dispose()
    assert stored == {tagged: "spring-2027.news_1", untagged: None, plain_id: None}
    assert payloads[tagged]["ref"] == "spring-2027.news_1" and "ref" not in payloads[untagged]


@pytest.mark.parametrize(
    ("slug", "reason"), [("newz", "unknown_partner"), ("gone", "revoked_partner")]
)
def test_an_unavailable_embed_names_its_reason(client: TestClient, slug: str, reason: str) -> None:
    r = client.get(f"/quiz?embed=1&partner={slug}&parent_origin={ORIGIN}")
    assert r.status_code == 404 and "frame-ancestors *" in r.headers["content-security-policy"]
    assert f'id="statequiz-unavailable" data-reason="{reason}"' in r.text


def test_the_preview_on_our_own_page_is_never_the_partners(
    client: TestClient, quiz: Quiz, db_url: str
) -> None:
    own = "http://testserver"
    query = f"embed=1&partner=news&parent_origin={quote(own)}&ref=preview"
    page = client.get(f"/quiz?{query}")
    assert "frame-ancestors 'self' " in page.headers["content-security-policy"]
    assert f'data-parent-origin="{own}"' in page.text and "Preview on our site" in page.text
    assert 'name="embed_token"' not in page.text
    r = client.post(f"/quiz?{query}", data=full_form(quiz) | embed_fields(client, query))
    assert r.status_code == 303
    rid = r.headers["location"].split("/results/")[1].split("?")[0]
    stored = client.get(f"/api/v1/responses/{rid}").json()
    assert (stored["partner"], stored["attribution"], stored["ref"]) == (None, None, None)


def test_the_partner_page_shows_the_snippet_without_javascript(client: TestClient) -> None:
    page = client.get("/partners/news/embed")
    assert page.status_code == 200
    assert '&lt;div data-state-quiz data-partner="news"&gt;&lt;/div&gt;' in page.text
    assert '&lt;script src="http://testserver/embed.js" async&gt;' in page.text
    assert '<div data-state-quiz data-partner="news"' in page.text  # the live preview
    chosen = client.get(
        "/partners/news/embed?accent=%23AbC&font=inherit&radius=6&scheme=auto&compact=1"
        f"&hide_whatif=1&ref=spring&share_url={quote(ORIGIN + '/story')}"
    ).text
    assert (
        'data-partner="news" data-accent="#aabbcc" data-font="inherit" data-radius="6" '
        'data-scheme="auto" data-compact data-hide="whatif" '
        f'data-share-url="{ORIGIN}/story" data-ref="spring"&gt;'
    ) in chosen
    bad = client.get(
        f"/partners/news/embed?accent={quote('<b>red</b>')}&share_url=https://evil.example.com/"
    )
    assert bad.status_code == 422
    assert "Not a colour like #0b5394" in bad.text and "registered origins" in bad.text
    assert "<b>red</b>" not in bad.text and "data-accent" not in bad.text
    assert "evil.example.com/&#34;" not in bad.text and "data-share-url" not in bad.text
    hostile = quote('x"><script>alert(1)</script>')
    quoted = client.get(f"/partners/news/embed?ref={hostile}").text
    assert "<script>alert(1)" not in quoted and "data-ref" not in quoted
    assert "Not a tag of 1 to 40" in quoted
    assert client.get("/partners/gone/embed").status_code == 404
    assert client.get("/partners/nobody/embed").status_code == 404


def test_the_preview_is_known_by_our_public_origin_even_under_a_path(db_url: str) -> None:
    add_partner(db_url)
    settings = app_settings(db_url, public_base_url="https://quiz.example.org/policy-quiz")
    with TestClient(create_app(settings)) as c:
        own = c.get("/quiz?embed=1&partner=news&parent_origin=https://quiz.example.org").text
        other = c.get("/quiz?embed=1&partner=news&parent_origin=https://quiz.example.net").text
    assert "Preview on our site" in own and 'name="embed_token"' not in own
    assert "Preview on our site" not in other and 'name="embed_token"' in other
    assert "data-parent-origin" not in other  # neither ours nor the partner's: told nothing
