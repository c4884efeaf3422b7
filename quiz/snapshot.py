"""A published content version: the framework and the quiz as one JSON document and its hash.

Stored results keep only what scoring decided; the words around it (names, goals, questions,
early adopters) come from the content version the result was scored with, kept once per
version in the database, so an old result reads exactly as it did when it was computed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from quiz.framework import Framework
from quiz.questions import Quiz

Snapshot = dict[str, Any]
# 80 bits of sha256: unique among the handful of versions ever published, short in every row.
HASH_CHARS = 20


def content_snapshot(framework: Framework, quiz: Quiz) -> Snapshot:
    # Computed fields are left out: they are recomputed when the snapshot is read back.
    return {
        "framework": framework.model_dump(mode="json"),
        "quiz": quiz.model_dump(mode="json", exclude={"estimated_minutes"}),
    }


def snapshot_hash(snapshot: Snapshot) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_CHARS]


def content_from_snapshot(snapshot: Snapshot) -> tuple[Framework, Quiz]:
    """The models back from a stored snapshot (validated again: a damaged row fails loudly)."""
    return Framework.model_validate(snapshot["framework"]), Quiz.model_validate(snapshot["quiz"])
