"""`/partners/{slug}/embed`: a registered partner's snippet, with its options, and a live
preview that is the real widget. Works without JavaScript for the snippet: the options are a
GET form, and the snippet is rendered by the server from the parsed (valid) values only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.deps import SessionDep, SettingsDep
from app.errors import NotFound
from app.models import Partner
from app.partners.registry import active_partner
from app.responses.submissions import public_base
from app.web.embedding import parse_ref, parse_share_url
from app.web.templating import render
from app.web.theme import HIDEABLE, SCHEMES, colour, font_stack, parse_hide, radius, scheme

router = APIRouter(include_in_schema=False)

MESSAGES = {
    "accent": "Not a colour like #0b5394 (# and 3 or 6 hex digits): left out.",
    "font": "Not “inherit” or up to four plain font names (letters, digits, spaces, hyphens): left out.",
    "radius": "Not a whole number of pixels from 0 to 24: left out.",
    "scheme": "Choose light, dark or auto: left out.",
    "share_url": "Not an http(s) address on one of this partner's registered origins: left out.",
    "ref": "Not a tag of 1 to 40 letters, digits, dots, hyphens or underscores: left out.",
}


@dataclass(frozen=True)
class Snippet:
    """The widget's attributes, in the order they are written, valid values only."""

    attributes: list[tuple[str, str]]
    errors: dict[str, str]


def snippet_for(partner: Partner, asked: dict[str, str]) -> Snippet:
    attributes = [("data-partner", partner.slug)]
    errors: dict[str, str] = {}
    checks: dict[str, Callable[[str], object]] = {
        "accent": colour,
        "font": _font_option,
        "radius": radius,
        "scheme": scheme,
    }
    for name, check in checks.items():
        value = asked.get(name, "").strip()
        if not value:
            continue
        parsed = check(value)
        if parsed is None:
            errors[name] = MESSAGES[name]
        else:
            shown = ",".join(parsed) if isinstance(parsed, tuple) else str(parsed)
            attributes.append((f"data-{name}", shown))
    if asked.get("compact"):
        attributes.append(("data-compact", ""))
    hide = parse_hide(",".join(v for v in HIDEABLE if asked.get(f"hide_{v}")))
    if hide:
        attributes.append(("data-hide", ",".join(h for h in HIDEABLE if h in hide)))
    share_url = asked.get("share_url", "").strip()
    ref = asked.get("ref", "").strip()
    for name, value, parsed_value in (
        ("share_url", share_url, parse_share_url(share_url, partner.origins)),
        ("ref", ref, parse_ref(ref)),
    ):
        if value and parsed_value is None:
            errors[name] = MESSAGES[name]
        elif parsed_value:
            attributes.append(("data-" + name.replace("_", "-"), parsed_value))
    return Snippet(attributes, errors)


def _font_option(value: str) -> tuple[str, ...] | str | None:
    return value if value == "inherit" else font_stack(value)


@router.get("/partners/{slug}/embed", response_class=HTMLResponse)
def read_partner_embed(
    slug: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    partner = _partner(session, slug)
    asked = {k: v[:500] for k, v in request.query_params.items()}
    snippet = snippet_for(partner, asked)
    host = public_base(request, settings) or str(request.base_url).rstrip("/")
    return render(
        request,
        "partner_embed.html",
        {
            "partner": partner,
            "asked": asked,
            "snippet": snippet,
            "host": host,
            "schemes": SCHEMES,
            "hideable": HIDEABLE,
        },
        status_code=422 if snippet.errors else 200,
    )


def _partner(session: Session, slug: str) -> Partner:
    partner = active_partner(session, slug)
    if partner is None:
        raise NotFound("No registered partner with that name. Check the address you were given.")
    return partner
