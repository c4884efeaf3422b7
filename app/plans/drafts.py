"""Drafts: a quiz in progress kept at a private link, without accounts.

The link carries a secret token (192 random bits); the table keeps only its sha256, as teams
keep theirs (app/teams/service.py). Whoever holds the link can read and change the draft, and
nobody else can find it. A draft opened from a team's join link keeps that link's token too,
since sending the draft joins the team with it: sealed (AES-GCM, from the `cryptography`
package, under a key derived from the draft's own token), so the table holds no secret a reader
of the database could use. A draft may be incomplete but never invalid: it is checked by the
scorer's own rules (unknown questions, options, conditions, a state or role we do not list are
refused), only not for being complete. Drafts are deleted DRAFT_RETENTION_DAYS after their last
save: lazily, whenever a draft is created, read or saved, and by `python -m app.cli drafts purge`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import delete
from sqlmodel import Session, col

from app.errors import NotFound
from app.models import ContextPublic, Draft, ResponseRecord, as_utc, utcnow
from app.teams.service import team_for_join
from scoring import Answer, AnswerEvidence, Scorer, Submission, SubmissionContext

DRAFT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
ShortText = Annotated[str, StringConstraints(max_length=100)]


class DraftContent(BaseModel):
    """What a draft keeps: the quiz's fields as far as they are filled in."""

    model_config = ConfigDict(extra="forbid")

    quiz_version: ShortText
    answers: list[Answer] = Field(default_factory=list, max_length=200)
    context: SubmissionContext = Field(default_factory=SubmissionContext)
    priorities: list[ShortText] = Field(default_factory=list, max_length=20)
    # The team's join link the quiz was opened with, so that the sent response counts for it.
    team: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class SavedAnswer(BaseModel):
    question_id: str
    option_id: str
    evidence: AnswerEvidence | None = None


class SavedDraft(BaseModel):
    """A draft's content as read back: as it was saved, whatever the quiz's version is now
    (so its schema is not narrowed to today's questions, as the body of a save is)."""

    quiz_version: str
    answers: list[SavedAnswer]
    context: ContextPublic
    priorities: list[str]
    team: str | None = None


class DraftPublic(BaseModel):
    """A draft as its link's holder reads it."""

    # The private link: anyone who has it can see and change the draft.
    url: str
    draft: SavedDraft
    created_at: datetime
    updated_at: datetime
    # When it is deleted unless saved again before.
    expires_at: datetime
    # The response last sent from this draft, if any.
    response_id: str | None = None


class DraftCreated(DraftPublic):
    # Shown here only: the server keeps its hash.
    token: str


@dataclass(frozen=True)
class LoadedDraft:
    content: DraftContent
    created_at: datetime
    updated_at: datetime
    response_id: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def draft_path(token: str) -> str:
    return f"/drafts/{token}"


def checked(scorer: Scorer, content: DraftContent, session: Session) -> DraftContent:
    """The content, after the scorer's rules (raises `SubmissionInvalid`) and, with a team
    link, the team's (404 unknown, 409 closed): a draft is never invalid, only incomplete."""
    scorer.validate(
        Submission(
            quiz_version=content.quiz_version,
            answers=content.answers,
            context=content.context,
            priorities=content.priorities,
        )
    )
    if content.team is not None:
        team_for_join(session, content.team)
    return content


# The stored field of a sealed team link (`_stored`); `team` itself, plain, is only in rows saved
# before links were sealed, read as they are until their next save or their deletion.
SEALED_TEAM = "team_sealed"
NONCE_BYTES = 12


def _team_key(token: str) -> bytes:
    """The sealing key of one draft: HKDF-SHA256 of its token, which has 192 random bits, so no
    slow password hash is needed. The server keeps only the token's sha256 and cannot make it."""
    info = b"where-to-begin: a draft's team link"
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(token.encode())


def _seal(token: str, team: str) -> str:
    nonce = os.urandom(NONCE_BYTES)  # a fresh one every save
    # The key is this draft's alone: a sealed link copied into another draft does not open there.
    sealed = AESGCM(_team_key(token)).encrypt(nonce, team.encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(token: str, sealed: str) -> str | None:
    """The team link, or None when it does not open (a row changed by hand): the draft is then
    read without its team, as if opened from the plain quiz."""
    try:
        raw = base64.urlsafe_b64decode(sealed)
        opened = AESGCM(_team_key(token)).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
    except (InvalidTag, ValueError):
        return None
    return opened.decode()


def _stored(content: DraftContent, token: str) -> dict[str, Any]:
    stored = content.model_dump(mode="json", exclude_none=True)
    team = stored.pop("team", None)
    if team is not None:
        stored[SEALED_TEAM] = _seal(token, team)
    return stored


def _content(row: Draft, token: str) -> DraftContent:
    stored = dict(row.content)
    sealed = stored.pop(SEALED_TEAM, None)
    if isinstance(sealed, str) and (team := _unseal(token, sealed)) is not None:
        stored["team"] = team
    return DraftContent.model_validate(stored)


def create_draft(session: Session, content: DraftContent, retention_days: int) -> str:
    """Store a new draft and return its token (the only time it exists outside the link)."""
    purge_drafts(session, retention_days)
    token = secrets.token_urlsafe(24)  # 192 random bits, 32 characters
    now = utcnow()
    session.add(
        Draft(
            token_hash=_hash(token), content=_stored(content, token), created_at=now, updated_at=now
        )
    )
    session.commit()
    return token


def _row(session: Session, token: str, retention_days: int) -> Draft:
    row = session.get(Draft, _hash(token)) if DRAFT_TOKEN.match(token) else None
    if row is not None and as_utc(row.updated_at) <= expiry_cutoff(retention_days):
        # Past its time: deleted now rather than at the next sweep.
        session.delete(row)
        session.commit()
        row = None
    if row is None:
        raise NotFound(
            "No saved answers at that link: it may be mistyped, or the answers were deleted "
            f"{retention_days} days after they were last saved."
        )
    return row


def load_draft(session: Session, token: str, retention_days: int) -> LoadedDraft:
    row = _row(session, token, retention_days)
    return LoadedDraft(
        content=_content(row, token),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        response_id=row.response_id,
    )


def save_draft(
    session: Session, token: str, content: DraftContent, retention_days: int
) -> LoadedDraft:
    """Replace what a draft holds; its time to deletion starts again."""
    row = _row(session, token, retention_days)
    row.content = _stored(content, token)
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    return load_draft(session, token, retention_days)


def mark_sent(session: Session, token: str, response_id: str, retention_days: int) -> None:
    """Remember the response sent from a draft (a draft deleted meanwhile is no error)."""
    try:
        row = _row(session, token, retention_days)
    except NotFound:
        return
    if session.get(ResponseRecord, response_id) is None:
        return
    row.response_id = response_id
    session.add(row)
    session.commit()


def expiry_cutoff(retention_days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=retention_days)


def expires_at(updated_at: datetime, retention_days: int) -> datetime:
    return as_utc(updated_at) + timedelta(days=retention_days)


def purge_drafts(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Delete every draft last saved `retention_days` ago or earlier; returns how many."""
    cutoff = expiry_cutoff(retention_days, now)
    deleted = session.execute(delete(Draft).where(col(Draft.updated_at) <= cutoff))
    session.commit()
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]


def public(base: str, token: str, loaded: LoadedDraft, retention_days: int) -> dict[str, Any]:
    return {
        "url": f"{base}{draft_path(token)}",
        "draft": loaded.content.model_dump(mode="json", exclude_none=True),
        "created_at": loaded.created_at,
        "updated_at": loaded.updated_at,
        "expires_at": expires_at(loaded.updated_at, retention_days),
        "response_id": loaded.response_id,
    }
