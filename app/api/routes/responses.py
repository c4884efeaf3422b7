"""`POST /responses` stores a scored submission; `GET /responses/{id}` reads it back as stored."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from pydantic_core import to_json, to_jsonable_python
from sqlmodel import Session

from app.api.routes.score import TopQuery
from app.cache import CachePolicy
from app.deps import (
    CachesDep,
    EngineDep,
    ResultsDep,
    SubmissionServices,
    client_address,
    get_submission_services,
    in_session,
    require_json,
)
from app.errors import InvalidRequest, Unauthorized
from app.http.answers import JSON, Built, cacheable, header
from app.http.kept import Kept, keeps
from app.http.openapi import statuses
from app.models import Partner, ResponseCreated, ResponsePublic, as_utc
from app.partners.registry import partner_for_key
from app.responses.results import Results
from app.responses.submissions import (
    RESPONSE_ID,
    evidence_of,
    public_base,
    read_response,
    result_url,
    submit,
    with_top,
)
from scoring import DEFAULT_TOP, Submission

router = APIRouter(tags=["responses"])


@dataclass(frozen=True, slots=True)
class Submitting:
    """All a submission takes besides its body and parameters, from one dependency (each one
    a route has costs FastAPI a few tens of µs a request): the app's services, and the partner
    whose `X-API-Key` came with the request (None without a key)."""

    services: SubmissionServices
    partner: Partner | None


async def get_submitting(
    request: Request,
    api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> Submitting:
    """415 for a body that is not JSON, 401 for a wrong or revoked key. `async`: most
    submissions bring no key, and cost no thread-pool hop. The JSON check is called here rather
    than listed as the route's own dependency: each dependency FastAPI solves costs it four
    parameter passes (16 a submission with four; docs/performance.md)."""
    await require_json(request)
    services = await get_submission_services(request)
    if api_key is None:
        return Submitting(services, None)
    return Submitting(services, await in_session(services.engine, partner_for_key, api_key))


SubmittingDep = Annotated[Submitting, Depends(get_submitting)]


@router.post(
    "/responses",
    status_code=201,
    response_model=ResponseCreated,
    responses=statuses(400, 401, 404, 409, 413, 415, 422, 429, 503),
)
async def create_response(
    submission: Submission,
    request: Request,
    submitting: SubmittingDep,
    top: TopQuery = DEFAULT_TOP,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Score and store a submission. Retrying with the same Idempotency-Key returns the first
    response (same id) and stores nothing new; without an API key, a key is scoped by the body
    it came with, so another body is another key. With `X-API-Key`, the response is attributed
    to the key's partner (`attribution: "api_key"`) and counted against the partner's rate limit
    instead of the address's; `partner` is accepted only with the key (401 without)."""
    services, partner = submitting.services, submitting.partner
    if partner is not None:
        submission = _attributed(submission, partner.slug)
        bucket, limit = f"key:{partner.id}", partner.rate_limit_per_minute
    else:
        if submission.partner is not None:
            raise _needs_key()
        bucket, limit = f"ip:{client_address(request)}", services.settings.rate_limit_per_minute
    base_url = public_base(request, services.settings)
    submitted = await submit(
        engine=services.engine,
        results=services.results,
        writer=services.writer,
        submission=submission,
        idempotency_key=idempotency_key,
        admit=services.limiter.admission(bucket, limit),
        partner=partner,
        attribution="api_key" if partner is not None else None,
        base_url=base_url,
        top=top,
    )
    if submitted.webhook:
        services.webhooks.wake()
    created = {
        "id": submitted.id,
        "result_url": result_url(base_url, submitted.id),
        "result": with_top(submitted.result, top),
    }
    headers = {"Idempotent-Replayed": "true"} if submitted.replayed else None
    return Response(to_json(created), 201, headers, media_type="application/json")


def _needs_key() -> Unauthorized:
    """`partner` without the partner's key. Anyone could attribute responses to any name
    before; a partner vouches for its responses with its key (or its widget, app/web/pages.py).
    A 401, not a 422: the body is well formed, the credential is what is missing (and the
    OpenAPI document can say no more of a body than its shape)."""
    return Unauthorized(
        "A response is attributed to a partner only with that partner's X-API-Key.",
        [
            {
                "field": "partner",
                "code": "partner_needs_key",
                "message": "send the partner's X-API-Key, or leave partner out",
            }
        ],
    )


def _attributed(submission: Submission, slug: str) -> Submission:
    if submission.partner is not None and submission.partner != slug:
        raise InvalidRequest(
            "The partner field does not match the partner of the API key.",
            [
                {
                    "field": "partner",
                    "code": "partner_mismatch",
                    "message": f"the API key belongs to '{slug}'; leave partner out or send it",
                }
            ],
        )
    return submission.model_copy(update={"partner": slug})


@dataclass(frozen=True)
class StoredAnswer:
    """A stored response serialised for one `top`, and its ETag: the id and `top` (stored
    results never change)."""

    body: bytes
    etag: bytes

    @staticmethod
    def etag_of(response_id: str, top: int) -> bytes:
        return f'"{response_id}.{top}"'.encode()


def _stored_key(request: Request, response_id: str) -> tuple[str, int]:
    # `top` as the route reads it (validated there; the layer before routing has no query).
    return (response_id, int(request.query_params.get("top", DEFAULT_TOP)))


def _stored_answer(stored: StoredAnswer, request: Request) -> Built:
    if_none_match = header(request.scope, b"if-none-match")
    return cacheable(stored.body, JSON, stored.etag, CACHE_CONTROL, if_none_match)


CACHE_CONTROL = b"private, max-age=86400"
# Serialised stored responses, by id and `top`: they never change, and serialising one (its
# result explained from the lean row) cost more than answering.
STORED_RESPONSES = CachePolicy("stored responses, serialised", max_items=1024)
STORED_RESPONSE: Kept[StoredAnswer] = Kept(STORED_RESPONSES, _stored_key, _stored_answer)


@router.get(
    "/responses/{response_id}",
    response_model=ResponsePublic,
    responses=statuses(304, 404, 422, 503),
)
@keeps(STORED_RESPONSE)
async def read_stored_response(
    response_id: str,
    request: Request,
    engine: EngineDep,
    results: ResultsDep,
    caches: CachesDep,
    top: TopQuery = DEFAULT_TOP,
) -> Response:
    """A stored response, exactly as it was scored when submitted (never re-scored). Stored
    results never change, so the ETag is the id and `top`, a client that has it gets a 304
    without a database read, and each process keeps recent answers serialised
    (`STORED_RESPONSE`: after the first, the layer before routing answers it); only a miss
    reads, through `in_session`."""
    built = STORED_RESPONSE.find(request, caches, response_id)
    if built is not None:
        return built.response()
    etag = StoredAnswer.etag_of(response_id, top)
    if header(request.scope, b"if-none-match") == etag and RESPONSE_ID.match(response_id):
        # The client has it: answered without reading anything.
        return Built(304, [(b"etag", etag), (b"cache-control", CACHE_CONTROL)], b"").response()
    body = await in_session(engine, _serialised, results, response_id, top)
    return STORED_RESPONSE.keep(request, caches, response_id, StoredAnswer(body, etag)).response()


def _serialised(session: Session, results: Results, response_id: str, top: int) -> bytes:
    record = read_response(session=session, response_id=response_id)
    stored = {
        "id": record.id,
        # RFC 3339 with an offset on both databases (SQLite hands back naive UTC times).
        "created_at": to_jsonable_python(as_utc(record.created_at)),
        "quiz_version": record.quiz_version,
        "context": {"state": record.state, "role": record.role},
        "partner": record.partner,
        "attribution": record.attribution,
        "ref": record.ref,
        "based_on": record.based_on,
        "result": with_top(results.full(session, record), top),
    }
    evidence = evidence_of(record)
    if evidence:
        stored["evidence"] = evidence
    return to_json(stored)
