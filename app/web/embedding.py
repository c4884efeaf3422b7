"""Pages inside a partner's iframe: who the partner is, who may frame the page, and where its
messages may go.

`?embed=1` alone gives the chrome-less layout and still forbids framing by other sites. With
`&partner=SLUG` of an active partner, the page may be framed by that partner's registered
origins only; `&parent_origin=` (sent by /embed.js) is where the page posts its events, and only
when it is one of those origins. An unknown or revoked partner gets a friendly page that any
site may frame (it holds a message and links, nothing to click a visitor into), which tells the
host page `statequiz:unavailable`.

Framing is not attribution: anyone can post to `/quiz?embed=1&partner=SLUG`. A partner's embed
forms carry an embed token the server signed for that partner (app/tokens.py), and only a form
that brings it back is stored as the partner's (app/web/pages.py, `submit_quiz_form`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response

from app.deps import SessionDep
from app.errors import EmbedUnavailable
from app.http.answers import csp
from app.models import Partner
from app.partners.registry import active_partner
from app.web.templating import is_embed


@dataclass(frozen=True)
class Embed:
    on: bool = False
    partner: Partner | None = None
    parent_origin: str | None = None

    def fields(self) -> list[tuple[str, str]]:
        """The parameters that keep a link or form inside the same embed."""
        params: list[tuple[str, str]] = []
        if self.on:
            params.append(("embed", "1"))
        if self.partner is not None:
            params.append(("partner", self.partner.slug))
        if self.parent_origin:
            params.append(("parent_origin", self.parent_origin))
        return params

    def query(self, **extra: str) -> str:
        """The query string that keeps a link or form inside the same embed."""
        params = dict(self.fields()) | extra
        return "?" + urlencode(params) if params else ""

    def allow_framing(self, response: Response) -> Response:
        if self.partner is not None:
            response.headers["content-security-policy"] = csp(" ".join(self.partner.origins))
        return response


def get_embed(request: Request, session: SessionDep) -> Embed:
    """Inside a partner's embed (`?embed=1&partner=...`), the partner, read with the request's
    session (a plain `def`: FastAPI runs it in the thread pool); elsewhere, no embed."""
    if not is_embed(request):
        return Embed()
    slug = request.query_params.get("partner")
    if slug is None:
        return Embed(on=True)
    partner = active_partner(session, slug)
    if partner is None:
        raise EmbedUnavailable(
            "This quiz is not available for embedding on this site. You can take it on our own "
            "site instead."
        )
    parent = request.query_params.get("parent_origin")
    return Embed(True, partner, parent if parent in partner.origins else None)


EmbedDep = Annotated[Embed, Depends(get_embed)]
