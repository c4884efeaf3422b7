"""schemathesis hooks for tests/api/test_contract.py (loaded through SCHEMATHESIS_HOOKS).

At most one answer per question is the one rule the OpenAPI document cannot state (JSON Schema
has no "unique by field"); generated bodies that answer a question twice are left out here,
and the 422 they get is tested in tests/scoring and tests/api."""

from typing import Any

import schemathesis


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    answers = body.get("answers") if isinstance(body, dict) else None
    if not isinstance(answers, list):
        return True
    ids = [a.get("question_id") for a in answers if isinstance(a, dict)]
    return len(ids) == len(set(ids))
