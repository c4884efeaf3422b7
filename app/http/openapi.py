"""The OpenAPI document, made to say exactly what the server enforces.

FastAPI describes the pydantic models, which are general on purpose (the scoring layer knows
nothing of HTTP). Here the document is tightened with what the content decides: the one quiz
version accepted, each question's own option ids, the state and role codes, the condition slugs
a priority may name; and every status an operation can answer, each with the `{"error": ...}`
body the server really sends (not FastAPI's `{"detail": ...}`); each route lists its statuses
(`responses=statuses(...)`). Built once per process.

Two rules stay in words only: at most one answer per question (JSON Schema cannot say that two
items of a list differ in one field), and that an export's `partner` is a registered partner's
slug (partners change while the document is kept; its form is stated); the descriptions say so
and the server answers 422.

Free strings, in parameters and request bodies, say they hold no NUL (NO_NUL_PATTERN), which the
server refuses everywhere (app/deps.py, storable_text); `group_by`, the export's dates and the benchmarks'
state list or spell out exactly what the server takes (app/analytics/aggregates.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.analytics.aggregates import DATE_PATTERN, DATE_RULE, GROUP_BY_VALUES, REF_PATTERN
from app.analytics.exports import PARTNER_PATTERN
from scoring import Scorer

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "code", "message"],
                        "properties": {
                            "field": {"type": "string"},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
STATUS_TEXT = {
    400: "The body could not be read (not UTF-8)",
    304: "Not modified: the copy the client has (If-None-Match) is current",
    401: "Wrong, revoked or missing key or token",
    404: "Nothing with that id (in the path, `compare_to`, `based_on` or `team`)",
    409: "Idempotency-Key already used with another body, a closed team, or a team not shown yet",
    413: "Body larger than MAX_BODY_BYTES",
    415: "Body not sent as application/json",
    422: "Invalid request or submission; `details` names each field",
    429: "Too many requests; see Retry-After",
    503: "The database cannot be reached, or the export is off; see Retry-After",
}


def statuses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Every status an operation answers besides its success, for `responses=` on its route
    (the one place they are listed): each gets STATUS_TEXT's description, and each error the
    `{"error": ...}` body (`exact`)."""
    return {code: {"description": STATUS_TEXT[code]} for code in codes}


# OpenAPI links: where an answer's values lead (a stored response to its plan, a plan to its
# reads and changes), so clients and schemathesis's stateful phase can follow them.
PLAN = "#/paths/~1api~1v1~1plans~1{token}"
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", "/api/v1/responses", "201"): {
        "MakePlan": {
            "operationRef": "#/paths/~1api~1v1~1plans/post",
            "requestBody": {"response_id": "$response.body#/id"},
        }
    },
    ("post", "/api/v1/teams/{team_id}/plans", "201"): {
        "ReadPlan": {
            "operationRef": f"{PLAN}/get",
            "parameters": {"token": "$response.body#/token"},
        },
    },
    ("post", "/api/v1/plans", "201"): {
        "ReadPlan": {
            "operationRef": f"{PLAN}/get",
            "parameters": {"token": "$response.body#/token"},
        },
        "ChangePlan": {
            "operationRef": f"{PLAN}/put",
            "parameters": {"token": "$response.body#/token"},
        },
    },
}
NO_NUL_PATTERN = "^[^\\x00]*$"
IDEMPOTENCY_KEY = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    # Printable ASCII, no space at either end (HTTP would strip it).
    "pattern": "^[!-~]([ -~]*[!-~])?$",
}


def install_openapi(app: FastAPI, scorer: Scorer) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = exact(document, scorer)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def exact(document: dict[str, Any], scorer: Scorer) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    _submission(schemas, scorer)
    _plan_conditions(schemas, scorer)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA
    exact_parameters = _parameters(scorer)
    bodies: set[str] = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _statuses(operation)
            for status, response in operation["responses"].items():
                if (method, path, status) in LINKS:
                    response["links"] = LINKS[(method, path, status)]
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "Idempotency-Key":
                    parameter["schema"] = IDEMPOTENCY_KEY
                elif parameter["name"] == "X-Team-Lead-Token":
                    # Any value is read; a wrong one is simply not the lead's.
                    parameter["schema"] = {"type": "string"}
                elif parameter["in"] == "header":
                    parameter["schema"] = {"type": "string", "minLength": 1}
                elif (method, path, parameter["name"]) in exact_parameters:
                    parameter["schema"] = exact_parameters[(method, path, parameter["name"])]
                else:
                    parameter["schema"] = _no_nul(parameter["schema"])
            bodies |= _refs(operation.get("requestBody", {}))
    for name in _reachable(schemas, bodies):
        schemas[name] = _no_nul(schemas[name])
    return document


def _parameters(scorer: Scorer) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Parameters whose every accepted value can be written down."""
    day = {"type": "string", "pattern": DATE_PATTERN, "description": DATE_RULE}
    export, compare = "/api/v1/export/aggregate", "/api/v1/export/compare"
    until = day | {"description": f"{DATE_RULE}; before `since`, the range is empty"}
    # The pattern is stated; that the slug must be a registered partner's is said in words
    # (the partners change while the document is kept): the server answers 422 to any other.
    partner = {
        "type": "string",
        "pattern": PARTNER_PATTERN,
        "description": "A registered partner's slug (422 `unknown_partner` for any other); "
        "empty: responses with no partner.",
    }
    # A tag's form is stated; that it needs `partner` too is said in words (a rule across two
    # parameters): the server answers 422 `needs_partner`.
    ref = {
        "type": "string",
        "pattern": REF_PATTERN,
        "description": "A partner's widget tag (`data-ref`); only with `partner` (422 "
        "`needs_partner` without). Empty: that partner's untagged responses.",
    }
    return {
        ("get", compare, "since"): day,
        ("get", compare, "ref"): ref,
        ("get", export, "ref"): ref,
        ("get", compare, "until"): until,
        ("get", compare, "partner"): partner,
        ("get", export, "partner"): partner,
        ("get", export, "group_by"): {
            "type": "string",
            "enum": list(GROUP_BY_VALUES),
            "description": "Distinct groups joined by commas, in the order of the columns; "
            "empty: no grouping. `ref` only with `partner` (422 `needs_partner` without).",
        },
        ("get", export, "since"): day,
        # One rule JSON Schema cannot state across two parameters: the server answers 422.
        ("get", export, "until"): day
        | {"description": f"{DATE_RULE}; before `since`, the range is empty"},
        ("get", "/api/v1/benchmarks", "state"): {
            "type": "string",
            "enum": ["", *sorted(scorer.context_options["state"])],
            "description": "Empty: overall only.",
        },
    }


def _no_nul(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every free string in it (no enum, const, pattern or format) saying it
    holds no NUL."""
    schema = dict(schema)
    if schema.get("type") == "string" and not schema.keys() & {
        "enum",
        "const",
        "pattern",
        "format",
    }:
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            schema[key] = [_no_nul(s) for s in schema[key]]
    if "items" in schema:
        schema["items"] = _no_nul(schema["items"])
    if "properties" in schema:
        schema["properties"] = {k: _no_nul(v) for k, v in schema["properties"].items()}
    return schema


def _refs(node: Any) -> set[str]:
    """Names of the component schemas `node` refers to, directly."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = {ref.rsplit("/", 1)[1]} if isinstance(ref, str) else set()
        return found.union(*(_refs(v) for k, v in node.items() if k != "$ref"))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _reachable(schemas: dict[str, Any], names: set[str]) -> set[str]:
    """`names` and every schema they refer to, however far."""
    seen: set[str] = set()
    while names:
        name = names.pop()
        if name in schemas and name not in seen:
            seen.add(name)
            names |= _refs(schemas[name])
    return seen


def _submission(schemas: dict[str, Any], scorer: Scorer) -> None:
    quiz = scorer.quiz
    evidence = {
        "anyOf": [{"$ref": "#/components/schemas/AnswerEvidence"}, {"type": "null"}],
        "description": "An optional note and link: kept with the response, never scored, "
        "never in aggregates, exports or webhooks.",
    }
    schemas["Answer"] = {
        "title": "Answer",
        "description": "One answer: a question id and one of that question's option ids.",
        "anyOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["question_id", "option_id"],
                "properties": {
                    "question_id": {"type": "string", "enum": [q.id]},
                    "option_id": {"type": "string", "enum": [o.id for o in q.options]},
                    "evidence": evidence,
                },
            }
            for q in quiz.questions
        ],
    }
    # A draft holds what a submission does, as far as it is filled in (app/plans/drafts.py).
    for name in ("Submission", "DraftContent"):
        if name in schemas:
            _answers_and_priorities(schemas[name]["properties"], scorer)
    submission = schemas["Submission"]["properties"]
    submission["partner"]["description"] = (
        "The partner the response is for: only with that partner's X-API-Key (POST "
        "/api/v1/responses answers 401 without one), which also sets it when left out."
    )
    if "TeamCreate" in schemas:
        schemas["TeamCreate"]["properties"]["state"] = {
            "anyOf": [
                {"type": "string", "enum": ["", *sorted(scorer.context_options["state"])]},
                {"type": "null"},
            ],
            "description": "Empty or null: not given.",
        }
    context = schemas["SubmissionContext"]["properties"]
    for question in quiz.context_questions:
        codes = [o.id for o in question.options]
        context[question.id] = {
            "anyOf": [{"type": "string", "enum": ["", *codes]}, {"type": "null"}],
            "description": "Empty or null: not given.",
        }


def _answers_and_priorities(properties: dict[str, Any], scorer: Scorer) -> None:
    quiz = scorer.quiz
    properties["quiz_version"] = {
        "type": "string",
        "enum": [quiz.version],
        "description": "The version of the quiz answered (GET /api/v1/quiz).",
    }
    properties["answers"].update(
        {
            "maxItems": len(quiz.questions),
            "uniqueItems": True,
            "description": "At most one answer per question; unanswered questions are left out.",
        }
    )
    properties["priorities"].update(
        {
            "items": {"type": "string", "enum": list(scorer.conditions)},
            "maxItems": quiz.priorities.max_choices,
            "uniqueItems": True,
        }
    )


def _plan_conditions(schemas: dict[str, Any], scorer: Scorer) -> None:
    """A plan's conditions are the framework's: their slugs, listed."""
    slugs = {"type": "string", "enum": [c.slug for c in scorer.framework.conditions]}
    for name in ("PlanConditionChoice", "PlanConditionUpdate"):  # TeamPlanCreate uses the first
        if name in schemas:
            schemas[name]["properties"]["condition"] = slugs


def _statuses(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    for status, response in responses.items():
        if status == "304":
            response.pop("content", None)
        elif status.startswith(("4", "5")):
            response["description"] = STATUS_TEXT.get(int(status), response["description"])
            response["content"] = {"application/json": {"schema": ERROR_REF}}
