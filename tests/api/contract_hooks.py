"""schemathesis hooks for tests/api/test_contract.py (loaded through SCHEMATHESIS_HOOKS).

At most one answer per question is the one rule the OpenAPI document cannot state (JSON Schema
has no "unique by field"); generated bodies keep only the first answer to each question, and
the 422 a repeated question gets is tested in tests/scoring and tests/api."""

from typing import Any

import schemathesis


def _first_answer_per_question(body: Any) -> Any:
    answers = body.get("answers") if isinstance(body, dict) else None
    if not isinstance(answers, list):
        return body
    seen: set[Any] = set()
    kept = []
    for answer in answers:
        question = answer.get("question_id") if isinstance(answer, dict) else None
        if not isinstance(question, str):  # invalid on purpose (negative cases): left as is
            kept.append(answer)
            continue
        if question in seen:
            continue
        seen.add(question)
        kept.append(answer)
    return {**body, "answers": kept}


def _first_of_each_condition(body: Any) -> Any:
    """A plan lists each condition once (JSON Schema cannot say "unique by field" either)."""
    conditions = body.get("conditions") if isinstance(body, dict) else None
    if not isinstance(conditions, list):
        return body
    seen: set[Any] = set()
    kept = []
    for item in conditions:
        slug = item.get("condition") if isinstance(item, dict) else None
        if not isinstance(slug, str):  # invalid on purpose (negative cases): left as is
            kept.append(item)
            continue
        if slug in seen:
            continue
        seen.add(slug)
        kept.append(item)
    return {**body, "conditions": kept}


def _unique(body: Any) -> Any:
    return _first_of_each_condition(_first_answer_per_question(body))


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    return _unique(body)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """Also for requests built by the stateful phase, which do not pass through map_body."""
    case.body = _unique(case.body)
