"""`GET /embed.js`: the partner widget. Small, dependency-free, cacheable and versioned."""

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.theme import Theme

router = APIRouter(tags=["embed"])

SCRIPT = (Path(__file__).resolve().parents[2] / "embed" / "embed.js").read_bytes()
ETAG = '"' + hashlib.sha256(SCRIPT).hexdigest()[:16] + '"'
# Partners' pages load it on every view: an hour in caches, then revalidated by ETag.
HEADERS = {"Cache-Control": "public, max-age=3600", "ETag": ETAG, "X-Embed-Version": "2"}


@router.get("/embed.js", include_in_schema=False)
async def read_embed_script(request: Request) -> Response:
    """The widget script, or 304 when the client's copy is current."""
    if request.headers.get("if-none-match") == ETAG:
        return Response(status_code=304, headers=HEADERS)
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8", headers=HEADERS)


# Its query is the whole of its content, so a day in caches, and the same for every page.
THEME_HEADERS = {"Cache-Control": "public, max-age=86400"}


@router.get("/embed/theme.css", include_in_schema=False)
async def read_embed_theme(request: Request) -> Response:
    """A partner's look as custom properties (app/web/theme.py): built from the parsed values
    only, so a query that is not a colour, a font name, a radius or a scheme adds nothing."""
    css = Theme.from_query(request.query_params).css()
    return Response(css, media_type="text/css; charset=utf-8", headers=THEME_HEADERS)
