"""JSON bodies only: `application/json`, in UTF-8 (RFC 8259 allows no other encoding), with
no parameter but an optional `charset=utf-8`. Anything else, `+json` types, another charset and
a body without a Content-Type included, is a 415, not a confusing 422 or a body read in the
wrong encoding."""

from fastapi import Request

from app.errors import UnsupportedMediaType


def is_json(content_type: str) -> bool:
    kind, *parameters = (part.strip().lower() for part in content_type.split(";"))
    return kind == "application/json" and all(
        p.replace(" ", "") in ("charset=utf-8", 'charset="utf-8"') for p in parameters
    )


async def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if not is_json(content_type):
        sent = f"not {content_type}" if content_type else "with a Content-Type header"
        raise UnsupportedMediaType(
            f"Send the body as application/json (UTF-8), {sent}.",
            [
                {
                    "field": "Content-Type",
                    "code": "unsupported",
                    "message": "use application/json, optionally with charset=utf-8",
                }
            ],
        )
