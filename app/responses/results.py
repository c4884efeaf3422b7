"""Stored results: lean rows in, whole results out, each in the words it was computed with.

A response row keeps `scoring.Computed` (what scoring decided) and the hash of its content
version. Reading it back explains that with the scorer of its own content version, loaded once
from `content_versions` and kept, so a result scored before the quiz changed still reads
exactly as it did. Rows from before lean storage hold their whole result and are served as is.
"""

from __future__ import annotations

import json
from typing import Any, cast

from pydantic_core import to_json
from sqlalchemy import Connection, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col

from app.cache import CachePolicy, Caches
from app.db import dialect_insert
from app.models import ContentVersion, ResponseRecord, utcnow
from quiz import content_from_snapshot, content_snapshot, snapshot_hash
from scoring import SCORING_VERSION, Answer, Computed, Scorer, Submission, SubmissionInvalid

StoredResult = dict[str, Any]
# Whole results, explained from their lean rows, kept as JSON bytes: results never change, a
# shared link is often opened many times in a row, and the result page, the API and a replay
# all read them. Bytes, not dicts: a thousand trees of dicts kept alive would make every full
# garbage collection walk them (pauses of 100 ms under load); bytes are not walked.
EXPLAINED = CachePolicy("explained results", max_items=1024)
# Scorers of content versions, the current one and older ones built from their stored
# snapshots: a deployment has a handful, and one that was let go is built again when read.
SCORERS = CachePolicy("scorers of content versions", max_items=16)


class Results:
    """The current scorer and its content hash, and the way back from a row to its result."""

    def __init__(self, scorer: Scorer, caches: Caches | None = None):
        self.scorer = scorer
        self.snapshot = content_snapshot(scorer.framework, scorer.quiz)
        self.content_hash = snapshot_hash(self.snapshot)
        caches = caches or Caches()
        self._scorers = caches.of(SCORERS)
        self._scorers.put(self.content_hash, scorer)
        self._cache = caches.of(EXPLAINED)

    def lean(self, computed: Computed) -> StoredResult:
        """What a new row stores of its result (defaults left out: about 1 KB)."""
        return computed.model_dump(mode="json", exclude_defaults=True)

    def full(self, session: Session | Connection, record: ResponseRecord) -> StoredResult:
        """The whole result of a stored row, exactly as it was when computed."""
        if record.content_hash is None:
            return record.result
        cached = self._cache.get(record.id)
        if cached is not None:
            return cast(StoredResult, json.loads(cached))
        scorer = self.scorer_for(session, record.content_hash)
        result = scorer.explained(
            Computed.model_validate(record.result),
            [Answer.model_validate(a) for a in record.answers],
            record.state,
        )
        self.remember(record.id, result)
        return result

    def remember(self, response_id: str, result: StoredResult) -> None:
        self._cache.put(response_id, to_json(result))

    def scorer_for(self, session: Session | Connection, content_hash: str) -> Scorer:
        """The scorer of a content version, built once per process from its stored snapshot."""
        scorer: Scorer | None = self._scorers.get(content_hash)
        if scorer is None:
            snapshot = session.execute(
                select_columns(col(ContentVersion.content)).where(
                    col(ContentVersion.hash) == content_hash
                )
            ).scalar_one()
            scorer = Scorer(*content_from_snapshot(snapshot))
            self._scorers.put(content_hash, scorer)
        return scorer


def register_content(connection: Connection, results: Results) -> None:
    """Keep the current content version (once, whoever of many processes gets there first)."""
    insert = dialect_insert(connection.dialect.name)
    connection.execute(
        insert(ContentVersion)
        .values(
            hash=results.content_hash,
            quiz_version=results.scorer.quiz.version,
            content=results.snapshot,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["hash"])
    )


def compact_stored(connection: Connection, results: Results) -> tuple[int, int]:
    """Turn whole stored results into lean rows where that loses nothing: a row is rewritten
    only when explaining its recomputed decisions with the current content gives back exactly
    the result it stores. Returns (rewritten, kept whole)."""
    register_content(connection, results)
    scorer = results.scorer
    rows = connection.execute(
        select_columns(
            col(ResponseRecord.id),
            col(ResponseRecord.answers),
            col(ResponseRecord.state),
            col(ResponseRecord.role),
            col(ResponseRecord.result),
        ).where(
            col(ResponseRecord.content_hash).is_(None),
            col(ResponseRecord.quiz_version) == scorer.quiz.version,
            col(ResponseRecord.scoring_version) == SCORING_VERSION,
        )
    ).all()
    rewritten = 0
    for response_id, answers, state, role, stored in rows:
        computed = _recomputed(scorer, answers, state, role, stored)
        if computed is None:
            continue
        explained = scorer.explain(computed, [Answer.model_validate(a) for a in answers], state)
        if explained.model_dump(mode="json") != stored:
            continue
        connection.execute(
            update(ResponseRecord)
            .where(col(ResponseRecord.id) == response_id)
            .values(result=results.lean(computed), content_hash=results.content_hash)
        )
        rewritten += 1
    return rewritten, len(rows) - rewritten


def _recomputed(
    scorer: Scorer, answers: Any, state: str | None, role: str | None, stored: StoredResult
) -> Computed | None:
    try:
        submission = Submission.model_validate(
            {
                "quiz_version": scorer.quiz.version,
                "answers": answers,
                "context": {"state": state, "role": role},
                "priorities": stored.get("priorities", []),
            }
        )
        return scorer.compute(submission)
    except (SubmissionInvalid, ValueError):
        return None


def expand_stored(connection: Connection, results: Results) -> int:
    """The way back (migration 0004's downgrade): every lean row gets its whole result again."""
    # Only the columns 0004 knows: later migrations add others this must not ask for.
    rows = connection.execute(
        select_columns(
            col(ResponseRecord.id),
            col(ResponseRecord.answers),
            col(ResponseRecord.state),
            col(ResponseRecord.result),
            col(ResponseRecord.content_hash),
        ).where(col(ResponseRecord.content_hash).is_not(None))
    ).all()
    records = [
        ResponseRecord.model_construct(id=i, answers=a, state=s, result=r, content_hash=h)
        for i, a, s, r, h in rows
    ]
    for record in records:
        connection.execute(
            update(ResponseRecord)
            .where(col(ResponseRecord.id) == record.id)
            .values(result=results.full(connection, record), content_hash=None)
        )
    return len(records)
