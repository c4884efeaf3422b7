"""Pages inside a partner's iframe: who the partner is, who may frame the page, and where its
messages may go.

`?embed=1` alone gives the chrome-less layout and still forbids framing by other sites. With
`&partner=SLUG` of an active partner, the page may be framed by that partner's registered
origins only; `&parent_origin=` (sent by /embed.js) is where the page posts its events, and only
when it is one of those origins. An unknown or revoked partner gets a friendly page that any
site may frame (it holds a message and links, nothing to click a visitor into), which tells the
host page `statequiz:unavailable` and `statequiz:error` with the reason (`unknown_partner`,
`revoked_partner`).

The partner's options (app/web/theme.py for the look; `compact`, `hide`, `share_url` and `ref`
here) are parsed into closed shapes and dropped when not valid, never echoed as given; the
parsed values are what every link and form inside the embed carries on.

A page whose `parent_origin` is our own origin is the preview on the partner's page of ours
(`/partners/{slug}/embed`): it may frame the embed, and what is sent from it is stored as any
visitor's on our site, never as the partner's (it gets no embed token).

Framing is not attribution: anyone can post to `/quiz?embed=1&partner=SLUG`. A partner's embed
forms carry an embed token the server signed for that partner (app/tokens.py), and only a form
that brings it back is stored as the partner's (app/web/pages.py, `submit_quiz_form`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session, select

from app.analytics.aggregates import REF_SHAPE
from app.config import Settings
from app.deps import EngineDep, SettingsDep, in_session
from app.errors import EmbedUnavailable, PartnerError
from app.http.answers import csp
from app.models import Partner
from app.partners.registry import SLUG, active_partner, normalise_origin
from app.responses.submissions import public_base
from app.web.templating import is_embed
from app.web.theme import HIDEABLE, Hideable, Theme, parse_hide

# A campaign or article tag: short, plain, and the same in a URL, a CSV and a log line. The
# export's `ref` filter takes the same (or empty: untagged).
REF = re.compile(f"^{REF_SHAPE}$")
MAX_SHARE_URL = 500


def parse_ref(value: str | None) -> str | None:
    return value if value and REF.match(value) else None


def parse_share_url(value: str | None, origins: list[str]) -> str | None:
    """An http(s) URL on one of the partner's registered origins, else None: a share link
    never sends readers to a site the partner did not register."""
    if not value or len(value) > MAX_SHARE_URL or not value.isascii():
        return None
    if any(c.isspace() or ord(c) < 32 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    try:
        origin = normalise_origin(f"{parts.scheme}://{parts.netloc}")
    except (ValueError, PartnerError):  # a bad port is a ValueError
        return None
    return value if origin in origins else None


@dataclass(frozen=True)
class Embed:
    on: bool = False
    partner: Partner | None = None
    parent_origin: str | None = None
    theme: Theme = field(default_factory=Theme)
    compact: bool = False
    hide: frozenset[Hideable] = frozenset()
    # Where shares point: the partner's article, with `statequiz_result=ID` added.
    share_url: str | None = None
    # The partner's tag for this widget (a campaign, an article), stored with each response.
    ref: str | None = None
    # Framed by our own partner page's preview: nothing sent is the partner's.
    preview: bool = False

    def fields(self) -> list[tuple[str, str]]:
        """The parameters that keep a link or form inside the same embed."""
        params: list[tuple[str, str]] = []
        if self.on:
            params.append(("embed", "1"))
        if self.partner is not None:
            params.append(("partner", self.partner.slug))
        if self.parent_origin:
            params.append(("parent_origin", self.parent_origin))
        params += self.theme.fields()
        if self.compact:
            params.append(("compact", "1"))
        if self.hide:
            params.append(("hide", ",".join(h for h in HIDEABLE if h in self.hide)))
        if self.share_url:
            params.append(("share_url", self.share_url))
        if self.ref:
            params.append(("ref", self.ref))
        return params

    @property
    def attributed(self) -> Partner | None:
        """The partner a form sent from this page is stored for (none in the preview)."""
        return None if self.preview else self.partner

    def shared(self, response_id: str, own_url: str) -> str:
        """The link a reader shares: the partner's page when it gave one, else our page."""
        if not self.share_url:
            return own_url
        glue = "&" if "?" in self.share_url.split("#")[0] else "?"
        base, _, fragment = self.share_url.partition("#")
        return f"{base}{glue}{urlencode({'statequiz_result': response_id})}" + (
            f"#{fragment}" if fragment else ""
        )

    def query(self, **extra: str) -> str:
        """The query string that keeps a link or form inside the same embed."""
        params = dict(self.fields()) | extra
        return "?" + urlencode(params) if params else ""

    def allow_framing(self, response: Response) -> Response:
        if self.partner is not None:
            # 'self' for the preview on our own partner page.
            ancestors = " ".join(["'self'", *self.partner.origins])
            response.headers["content-security-policy"] = csp(ancestors)
        return response


UNAVAILABLE = (
    "This quiz is not available for embedding on this site. You can take it on our own "
    "site instead."
)


async def get_embed(request: Request, engine: EngineDep, settings: SettingsDep) -> Embed:
    """Inside a partner's embed (`?embed=1&partner=...`), the partner, read in the thread pool;
    elsewhere, no embed, without a hop (`async`: most pages are not embedded, and a kept page
    is answered before any database work)."""
    if not is_embed(request):
        return Embed()
    return await in_session(engine, _embed_of, request, settings)


def _embed_of(session: Session, request: Request, settings: Settings) -> Embed:
    query = request.query_params
    slug = query.get("partner")
    theme = Theme.from_query(query)
    compact = query.get("compact") == "1"
    hide = parse_hide(query.get("hide"))
    if slug is None:
        return Embed(on=True, theme=theme, compact=compact, hide=hide)
    partner, known = _active_partner(session, slug)
    if partner is None:
        reason = "revoked_partner" if known else "unknown_partner"
        raise EmbedUnavailable(UNAVAILABLE, reason=reason)
    parent = query.get("parent_origin")
    own = _origin(public_base(request, settings) or str(request.base_url))
    preview = parent is not None and parent == own
    return Embed(
        on=True,
        partner=partner,
        parent_origin=parent if parent in partner.origins or preview else None,
        theme=theme,
        compact=compact,
        hide=hide,
        share_url=parse_share_url(query.get("share_url"), partner.origins),
        ref=parse_ref(query.get("ref")),
        preview=preview,
    )


def _origin(url: str) -> str:
    """`scheme://host[:port]` of our own base URL (PUBLIC_BASE_URL may carry a path)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _active_partner(session: Session, slug: str) -> tuple[Partner | None, bool]:
    """The active partner, and whether the slug was ever registered (revoked, then)."""
    if not SLUG.match(slug):
        return None, False
    partner = active_partner(session, slug)
    if partner is not None:
        return partner, True
    ever = session.exec(select(Partner.id).where(Partner.slug == slug)).first()
    return None, ever is not None


EmbedDep = Annotated[Embed, Depends(get_embed)]
