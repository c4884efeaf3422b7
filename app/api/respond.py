"""Answering with a model we already hold, without FastAPI validating it a second time."""

from fastapi.responses import Response
from pydantic import BaseModel


def model_response(
    model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serialise once. Routes still declare `response_model` so the OpenAPI schema is right;
    returning a `Response` tells FastAPI the body is final."""
    return Response(
        model.model_dump_json(),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
