"""Table models (what is stored) and the public models the API returns for them.

A stored response keeps what scoring decided (`scoring.Computed`: stages, ranks, order basis,
versions) and the hash of the content version it was scored with; `content_versions` keeps each
published content version once, so a result always reads as it did when it was computed, even
after the quiz changes (app/responses/results.py). Responses stored before that kept their whole result
(`content_hash` is NULL) and are served exactly as stored.
"""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel

from scoring import Result


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite returns them without an offset."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ResponseRecord(SQLModel, table=True):
    __tablename__ = "responses"

    # 128 random bits, base64url without padding (secrets.token_urlsafe(16)).
    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    quiz_version: str = Field(max_length=100)
    scoring_version: str = Field(max_length=20)
    state: str | None = Field(default=None, max_length=8, index=True)
    role: str | None = Field(default=None, max_length=40)
    partner: str | None = Field(default=None, max_length=64, index=True)
    answers: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    # `scoring.Computed` when `content_hash` is set; the whole `Result` for older rows.
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str | None = Field(
        default=None, foreign_key="content_versions.hash", max_length=64
    )
    # A what-if saved as its own response points at the response it started from.
    based_on: str | None = Field(default=None, foreign_key="responses.id", max_length=32)
    # Taken through a team's join link: the team's page counts it (never names it).
    team_id: str | None = Field(default=None, foreign_key="teams.id", max_length=32, index=True)
    # How `partner` was established: "api_key" (the partner's X-API-Key) or "widget" (the
    # partner's embed page, with the token the server signed for it). Null when no partner,
    # and for rows stored before this was recorded (migration 0008), whose partner is a claim.
    attribution: str | None = Field(default=None, max_length=10)
    # The partner's tag for the widget the response came from (`data-ref`: a campaign, an
    # article), a short plain token (app/web/embedding.py); null otherwise (migration 0013).
    ref: str | None = Field(default=None, max_length=40)


class Team(SQLModel, table=True):
    """A state leadership team answering together. The join and lead tokens are shown once and
    stored only as hashes; the id (128 random bits) is the team page's address."""

    __tablename__ = "teams"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=120)
    state: str | None = Field(default=None, max_length=8)
    join_token_hash: str = Field(max_length=64, unique=True)
    lead_token_hash: str = Field(max_length=64)
    closes_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Draft(SQLModel, table=True):
    """A quiz in progress, kept at a private link (app/plans/drafts.py). The link's token is
    shown to its holder only and stored as its sha256; the row holds what the form held and
    nothing about who: it is deleted DRAFT_RETENTION_DAYS after its last save."""

    __tablename__ = "drafts"

    token_hash: str = Field(primary_key=True, max_length=64)
    # `app.plans.drafts.DraftContent`: answers (with evidence), priorities, context, team link.
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    # The response last sent from this draft, so that its link leads to the result.
    response_id: str | None = Field(default=None, foreign_key="responses.id", max_length=32)


class ContentVersion(SQLModel, table=True):
    """One published version of the framework and quiz (`quiz.content_snapshot`), kept once."""

    __tablename__ = "content_versions"

    hash: str = Field(primary_key=True, max_length=64)
    quiz_version: str = Field(max_length=100)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    # sha256 of the Idempotency-Key in its scope (app/responses/submissions.py, _key_hash): the API key's
    # partner, the body for a client without one, or a form token's own kind. Never the raw key.
    key_hash: str = Field(primary_key=True, max_length=64)
    request_hash: str = Field(max_length=64)
    response_id: str = Field(foreign_key="responses.id", max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ServerSecret(SQLModel, table=True):
    """Secrets the server makes for itself, once per deployment (the first process to start
    writes it, every other reads it), so that every app process signs and checks the same
    tokens with nothing to configure (app/tokens.py)."""

    __tablename__ = "server_secrets"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=128)  # hex
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ContextPublic(BaseModel):
    state: str | None = None
    role: str | None = None


class ResponseCreated(BaseModel):
    id: str
    result_url: str
    result: Result


Attribution = Literal["api_key", "widget"]


class AnswerEvidencePublic(BaseModel):
    """The note and link a respondent gave for one answer (scoring.AnswerEvidence)."""

    question_id: str
    note: str | None = None
    link: str | None = None


class ResponsePublic(BaseModel):
    id: str
    created_at: datetime
    quiz_version: str
    context: ContextPublic
    partner: str | None = None
    # How the partner was established (`api_key`, `widget`); null without a partner or for
    # responses stored before it was recorded.
    attribution: Attribution | None = None
    # The widget's `data-ref` (a partner's campaign or article tag); null otherwise.
    ref: str | None = None
    based_on: str | None = None
    result: Result
    # Notes and links given with the answers, in the order answered; left out when none was.
    evidence: list[AnswerEvidencePublic] = []


class Partner(SQLModel, table=True):
    """An organisation that embeds the quiz or calls the API with a key."""

    __tablename__ = "partners"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    # Origins (scheme://host[:port]) allowed to frame the quiz and call the API from a browser.
    origins: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # sha256 of the API key: the key itself is shown once, at creation, and never stored.
    api_key_hash: str = Field(max_length=64, unique=True)
    webhook_url: str | None = Field(default=None, max_length=2000)
    # The Standard Webhooks signing secret ("whsec_..."). Kept as is because signing needs it.
    webhook_secret: str | None = Field(default=None, max_length=100)
    rate_limit_per_minute: int = Field(default=600)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class RateLimitHit(SQLModel, table=True):
    """One counted request: a sliding one-minute window shared by every app process. Rows
    older than the window are deleted by every count (app/partners/ratelimit.py)."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (
        Index("ix_rate_limit_hits_bucket_at", "bucket", "at"),
        # For the sweep of aged-out rows, which looks at `at` alone.
        Index("ix_rate_limit_hits_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # HMAC-SHA256 (hex) of "ip:<address>", "key:<partner id>" (its API key) or
    # "widget:<partner id>" (its widget), under RATE_LIMIT_SECRET.
    bucket: str = Field(max_length=80)
    at: float  # seconds since the epoch


class AnalystSession(SQLModel, table=True):
    """A signed-in `/insights` session, so that logout ends it here and not only in the browser
    that pressed it. The cookie carries the session id; only its sha256 is stored."""

    __tablename__ = "analyst_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class TokenFailure(SQLModel, table=True):
    """One wrong export token (sign-in or bearer) from an address, kept for the throttle's
    window and no longer. The address is kept only as a keyed hash (app/analytics/analysts.py)."""

    __tablename__ = "token_failures"
    __table_args__ = (Index("ix_token_failures_bucket_at", "bucket", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=64)  # HMAC-SHA256 of the address, hex
    at: float  # seconds since the epoch


class HealthCheck(SQLModel, table=True):
    """One row, written by every /healthz: the database answers only if it takes a write."""

    __tablename__ = "health_checks"

    id: int = Field(default=1, primary_key=True)
    checked_at: float  # seconds since the epoch


class WebhookDelivery(SQLModel, table=True):
    """A webhook to send: written with the response it reports, sent after the commit."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    # The Standard Webhooks `Webhook-Id`: the same on every retry of one event.
    id: str = Field(primary_key=True, max_length=40)
    partner_id: int = Field(foreign_key="partners.id", index=True)
    response_id: str = Field(foreign_key="responses.id", max_length=32)
    payload: str  # the exact JSON body that is signed and sent
    # pending -> sending -> delivered | failed (pending again between tries)
    status: str = Field(max_length=12, default="pending")
    attempts: int = 0
    next_attempt_at: float  # seconds since the epoch
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class _RollupCounts(SQLModel):
    stage_0: int = 0
    stage_1: int = 0
    stage_2: int = 0
    stage_3: int = 0
    unknown: int = 0
    ranked_first: int = 0
    top_three: int = 0


class ConditionRollup(_RollupCounts, table=True):
    """Published counts, kept up to date as responses are released in batches (in the
    transaction that stores the response completing a batch), so exports and insights cost as
    much as the number of groups, not of responses. One row per release day, state, quiz
    version, condition, role, partner, attribution and tag; "" stands for "not given". The key
    is in the order exports read it (migration 0016)."""

    __tablename__ = "condition_rollup"

    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD, UTC
    state: str = Field(primary_key=True, max_length=8)
    quiz_version: str = Field(primary_key=True, max_length=100)
    condition: str = Field(primary_key=True, max_length=80)
    role: str = Field(primary_key=True, max_length=40)
    partner: str = Field(primary_key=True, max_length=64)
    # The response's attribution ("api_key", "widget"); "" for none or not recorded.
    attribution: str = Field(primary_key=True, max_length=10, default="")
    # The partner's widget tag (`responses.ref`); "" for none (migration 0016).
    ref: str = Field(primary_key=True, max_length=40, default="")
    month: str = Field(max_length=7, index=True)  # YYYY-MM, for grouping by month


class PendingRollup(_RollupCounts, table=True):
    """Counts of responses not yet published: a cell's responses (one quiz version, state,
    role, partner, attribution and tag) wait here until MIN_GROUP_SIZE of them have arrived, and
    are then added to the rollups together, as one batch (app/analytics/aggregates.py). One row
    per cell and condition; "" stands for "not given". Nothing reads it but the write path."""

    __tablename__ = "pending_rollup"

    quiz_version: str = Field(primary_key=True, max_length=100)
    state: str = Field(primary_key=True, max_length=8)
    role: str = Field(primary_key=True, max_length=40)
    partner: str = Field(primary_key=True, max_length=64)
    attribution: str = Field(primary_key=True, max_length=10, default="")
    ref: str = Field(primary_key=True, max_length=40, default="")
    condition: str = Field(primary_key=True, max_length=80)


class ConditionRollupMonth(_RollupCounts, table=True):
    """The same counts by month: whole months are read from here (about 30 times fewer rows),
    only the days at the ends of a date range from the daily table. Keyed like it, and on
    SQLite stored in key order (WITHOUT ROWID, migration 0016): an export by state and month,
    the widest, groups as it reads, with no sort. (The daily table keeps its rowid: stored by
    key it made each released batch's write about a fifth slower, bench/export.py.)"""

    __tablename__ = "condition_rollup_month"
    __table_args__ = {"sqlite_with_rowid": False}

    month: str = Field(primary_key=True, max_length=7)
    state: str = Field(primary_key=True, max_length=8)
    quiz_version: str = Field(primary_key=True, max_length=100)
    condition: str = Field(primary_key=True, max_length=80)
    role: str = Field(primary_key=True, max_length=40)
    partner: str = Field(primary_key=True, max_length=64)
    attribution: str = Field(primary_key=True, max_length=10, default="")
    ref: str = Field(primary_key=True, max_length=40, default="")


class Plan(SQLModel, table=True):
    """A plan made from a result (app/plans/plans.py): up to three conditions, a target stage
    for each, milestones to check. Kept at its own private link: the token is shown once and
    stored only as its sha256. The id (128 random bits) is never shown; it only joins rows."""

    __tablename__ = "plans"

    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    # The result the plan was made from (its check-ins follow in `plan_check_ins`), or, for a
    # team's plan, the team whose picture it was made from: one of the two is set.
    response_id: str | None = Field(
        default=None, foreign_key="responses.id", max_length=32, index=True
    )
    team_id: str | None = Field(default=None, foreign_key="teams.id", max_length=32, index=True)
    time_frame: str = Field(max_length=20)
    # The conditions as planned: [{condition, target_stage, milestones: [{question_id,
    # option_id, stage, label, done, owner, due}]}] (app/plans/plans.py, PlanItem).
    items: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class PlanCheckIn(SQLModel, table=True):
    """A response taken again from a plan ("Check in again"): the response itself points at
    the one before through `based_on`; this row says it belongs to the plan."""

    __tablename__ = "plan_check_ins"

    plan_id: str = Field(foreign_key="plans.id", primary_key=True, max_length=32)
    response_id: str = Field(foreign_key="responses.id", primary_key=True, max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
