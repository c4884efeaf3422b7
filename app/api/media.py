"""JSON bodies only: any other declared content type is a 415, not a confusing 422."""

from fastapi import Request

from app.errors import UnsupportedMediaType


async def require_json(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise UnsupportedMediaType(
            f"Send the body as application/json, not {kind}.",
            [{"field": "Content-Type", "code": "unsupported", "message": "use application/json"}],
        )
