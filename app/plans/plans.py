"""A plan made from a result: up to three conditions, a target stage and milestones for each.

The milestones are the next rungs of our own question ladder (quiz/quiz.yaml): for each of the
condition's questions, the options above the answer given, up to the target stage. Their
wording is kept in the plan when it is made, so a plan reads the same after the quiz changes;
the stage's goal, actions, strategic question, stakeholders and early adopter are the
framework's (as the current content has them) and are labelled as such where they are shown.

A plan lives at its own private link: a token of 192 random bits, shown once (in the link) and
stored only as its sha256, as teams' tokens are (app/teams/service.py). Anyone with the link can
read and change the plan; nothing else finds it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import to_jsonable_python
from sqlmodel import Session, col, select

from app.errors import AppError, InvalidRequest, NotFound
from app.models import Plan, PlanCheckIn, ResponseRecord, Team, as_utc, utcnow
from app.responses.results import Results, StoredResult
from app.responses.submissions import RESPONSE_ID, read_response
from app.teams.service import get_team, team_view
from quiz import Framework, Quiz
from quiz.framework import ConditionStage, EarlyAdopter
from scoring import SCORING_VERSION

# secrets.token_urlsafe(24): 192 bits, 32 characters of base64url.
PLAN_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{32}$"
PLAN_TOKEN = re.compile(PLAN_TOKEN_PATTERN)
MAX_CONDITIONS = 3
MAX_OWNER = 60
TimeFrame = Literal["3-months", "6-months", "12-months", "24-months"]
TIME_FRAMES: dict[str, str] = {
    "3-months": "3 months",
    "6-months": "6 months",
    "12-months": "12 months",
    "24-months": "2 years",
}
DEFAULT_TIME_FRAME: TimeFrame = "12-months"
# A role ("Deputy superintendent"), not a person's name: short, one line, no NUL.
Owner = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_OWNER, pattern=r"^[^\x00-\x1f\x7f]*$"),
]
TargetStage = Literal[1, 2, 3]
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
DUE_PATTERN = r"^(20[0-9]{2}|2100)-"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanConditionChoice(_In):
    condition: Annotated[str, StringConstraints(max_length=80)]
    # Default: the stage after the current one (Statewide Transformation stays there).
    target_stage: TargetStage | None = None


class PlanCreate(_In):
    response_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22}$")]
    time_frame: TimeFrame = DEFAULT_TIME_FRAME
    # Default: the result's "Begin here" list.
    conditions: list[PlanConditionChoice] | None = Field(
        default=None, min_length=1, max_length=MAX_CONDITIONS
    )


class TeamPlanCreate(_In):
    time_frame: TimeFrame = DEFAULT_TIME_FRAME
    # Default: the team's own "Begin here" (its first three recommendations).
    conditions: list[PlanConditionChoice] | None = Field(
        default=None, min_length=1, max_length=MAX_CONDITIONS
    )


class MilestoneUpdate(_In):
    id: Annotated[str, StringConstraints(max_length=210)]
    done: bool = False
    owner: Owner | None = None
    # Between 2000 and 2100: the pattern says so in the OpenAPI document too.
    due: date | None = Field(default=None, json_schema_extra={"pattern": DUE_PATTERN})

    @field_validator("owner", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("due")
    @classmethod
    def _plausible(cls, value: date | None) -> date | None:
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValueError("a date between 2000 and 2100")
        return value


class PlanConditionUpdate(_In):
    condition: Annotated[str, StringConstraints(max_length=80)]
    target_stage: TargetStage | None = None
    # Milestones not listed keep what they had; unknown ids are refused.
    milestones: list[MilestoneUpdate] = Field(default_factory=list, max_length=60)


class PlanUpdate(_In):
    time_frame: TimeFrame
    conditions: list[PlanConditionUpdate] = Field(min_length=1, max_length=MAX_CONDITIONS)


class Milestone(BaseModel):
    id: str
    question_id: str
    option_id: str
    stage: int
    stage_name: str
    # The option's wording when the plan was made: our ladder, not the framework's text.
    label: str
    done: bool
    owner: str | None
    due: date | None


class AnswerEvidenceShown(BaseModel):
    """A note and a link the respondent kept with an answer (never in aggregates)."""

    question_id: str
    note: str | None = None
    link: str | None = None


class PlanCondition(BaseModel):
    condition: str
    name: str
    current_stage: int | None
    current_stage_name: str
    target_stage: int
    target_stage_name: str
    # The target stage as the framework describes it (content rules: `provenance`,
    # `derived_fields` and `stakeholders_provenance` say what is ours).
    stage: ConditionStage
    early_adopter: EarlyAdopter | None
    early_adopter_note: str | None
    source_url: str
    milestones: list[Milestone]
    evidence: list[AnswerEvidenceShown]


class Progress(BaseModel):
    done: int
    total: int


class CheckInStages(BaseModel):
    response_id: str
    created_at: datetime
    # Per planned condition: its stage then (null: not sure or not answered).
    stages: dict[str, int | None]


class PlanPublic(BaseModel):
    created_at: datetime
    updated_at: datetime
    time_frame: TimeFrame
    # The result the plan was made from, and the newest check-in (the same until one is made);
    # both null for a team's plan, which has `team_id` instead.
    response_id: str | None
    latest_response_id: str | None
    team_id: str | None = None
    quiz_version: str
    scoring_version: str
    progress: Progress
    conditions: list[PlanCondition]
    # The plan's results in order: the one it was made from, then each check-in.
    history: list[CheckInStages]


class TeamNotShown(AppError):
    status_code, code = 409, "team_not_shown"


class PlanCreated(BaseModel):
    token: str
    plan_url: str
    plan: PlanPublic


def _invalid(field: str, code: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, [{"field": field, "code": code, "message": message}])


def _rung(option_stage: int | None, progress: int) -> tuple[int, int]:
    return (option_stage if option_stage is not None else -1, progress)


def milestones_for(
    quiz: Quiz,
    answers: list[dict[str, Any]],
    condition: str,
    target: int,
    team_stage: int | None = None,
) -> list[dict[str, Any]]:
    """The rungs of the condition's questions above the answer given, up to `target`: each a
    fact the state could check once it is true. "Not sure" or unanswered: every rung from
    the first stage up. Stage 0 ("not started") is never a milestone. A team's plan has no
    answers of its own: the rungs above the team's stage (every rung of a stage it reached)."""
    given = {a.get("question_id"): a.get("option_id") for a in answers}
    found = []
    for question in quiz.questions_for(condition):
        chosen = question.option(str(given.get(question.id, "")))
        floor = _rung(chosen.stage, chosen.progress) if chosen else (-1, 0)
        if team_stage is not None:
            floor = (team_stage, 9)
        for option in question.options:
            if option.stage is None or option.stage == 0 or option.stage > target:
                continue
            if _rung(option.stage, option.progress) <= floor:
                continue
            found.append(
                {
                    "question_id": question.id,
                    "option_id": option.id,
                    "stage": option.stage,
                    "label": option.label,
                    "done": False,
                    "owner": None,
                    "due": None,
                }
            )
    return found


def milestone_id(milestone: dict[str, Any]) -> str:
    return f"{milestone['question_id']}:{milestone['option_id']}"


def _stages(result: StoredResult) -> dict[str, int | None]:
    return {c["slug"]: c.get("stage") for c in result.get("conditions", [])}


def _default_target(current: int | None) -> int:
    return 1 if current is None else min(current + 1, 3)


def _choices(
    framework: Framework,
    result: StoredResult,
    chosen: Sequence[PlanConditionChoice | PlanConditionUpdate] | None,
) -> list[tuple[str, int]]:
    """(condition, target stage) for each chosen condition, checked; the "Begin here" list
    with next stages when none are chosen."""
    stages = _stages(result)
    if chosen is None:
        begin = list(result.get("begin_here") or [])
        begin = begin or [r["slug"] for r in result.get("recommendations", [])]
        chosen = [PlanConditionChoice(condition=slug) for slug in begin[:MAX_CONDITIONS]]
    if not chosen:
        raise _invalid("conditions", "no_conditions", "Choose at least one condition.")
    picked: list[tuple[str, int]] = []
    for i, choice in enumerate(chosen):
        if framework.condition(choice.condition) is None:
            raise _invalid(
                f"conditions.{i}.condition",
                "unknown_condition",
                f"'{choice.condition}' is not one of the framework's conditions.",
            )
        if choice.condition in (slug for slug, _ in picked):
            raise _invalid(
                f"conditions.{i}.condition",
                "duplicate_condition",
                "Each condition can be in the plan once.",
            )
        # A target the state has reached already is kept as such: no milestones left.
        target = choice.target_stage or _default_target(stages.get(choice.condition))
        picked.append((choice.condition, target))
    return picked


def _items(
    quiz: Quiz,
    answers: list[dict[str, Any]],
    picked: list[tuple[str, int]],
    team_stages: dict[str, int | None] | None = None,
) -> list[dict[str, Any]]:
    stages = team_stages or {}
    return [
        {
            "condition": slug,
            "target_stage": target,
            "milestones": milestones_for(quiz, answers, slug, target, stages.get(slug)),
        }
        for slug, target in picked
    ]


def create_plan(session: Session, results: Results, body: PlanCreate) -> tuple[str, Plan]:
    """Make a plan from a stored result; returns the token (shown once) and the plan."""
    record = read_response(session=session, response_id=body.response_id)
    result = results.full(session, record)
    picked = _choices(results.scorer.framework, result, body.conditions)
    return _store(
        session,
        response_id=record.id,
        time_frame=body.time_frame,
        items=_items(results.scorer.quiz, record.answers, picked),
    )


def team_result(session: Session, results: Results, team: Team, threshold: int) -> StoredResult:
    """The team's picture in the shape of a result: each condition at the team's stage, and
    its own "Begin here". 409 while the team page shows nothing (too few members)."""
    view = to_jsonable_python(team_view(session, results, team, lead=False, threshold=threshold))
    if view["conditions"] is None:
        raise TeamNotShown(
            f"The team's picture is shown once {threshold} members have answered; a plan "
            "can be made from it then."
        )
    return {
        "conditions": [
            {
                "slug": c["slug"],
                "name": c["name"],
                "stage": c["team_stage"],
                "stage_name": c["team_stage_name"],
                "rank": i + 1,
            }
            for i, c in enumerate(view["conditions"])
        ],
        "begin_here": [r["slug"] for r in (view["recommendations"] or [])[:MAX_CONDITIONS]],
    }


def _known_team_stages(result: StoredResult) -> dict[str, int | None]:
    return {c["slug"]: (-1 if c["stage"] is None else c["stage"]) for c in result["conditions"]}


def create_team_plan(
    session: Session, results: Results, team: Team, body: TeamPlanCreate, threshold: int
) -> tuple[str, Plan]:
    """Make a plan from a team's picture; returns the token (shown once) and the plan."""
    result = team_result(session, results, team, threshold)
    picked = _choices(results.scorer.framework, result, body.conditions)
    return _store(
        session,
        team_id=team.id,
        time_frame=body.time_frame,
        items=_items(results.scorer.quiz, [], picked, _known_team_stages(result)),
    )


def _store(session: Session, **fields: Any) -> tuple[str, Plan]:
    token = secrets.token_urlsafe(24)
    now = utcnow()
    plan = Plan(
        id=secrets.token_urlsafe(16),
        token_hash=token_hash(token),
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(plan)
    session.commit()
    session.refresh(plan)
    return token, plan


def plan_for_token(session: Session, token: str) -> Plan:
    plan = (
        session.exec(select(Plan).where(col(Plan.token_hash) == token_hash(token))).first()
        if PLAN_TOKEN.match(token)
        else None
    )
    if plan is None:
        raise NotFound("No plan at that link. Check that the whole link was copied.")
    return plan


def plan_responses(session: Session, plan: Plan) -> list[ResponseRecord]:
    """The result the plan was made from, then its check-ins, oldest first (none for a
    team's plan)."""
    if plan.response_id is None:
        return []
    origin = read_response(session=session, response_id=plan.response_id)
    check_ins = session.exec(
        select(ResponseRecord)
        .join(PlanCheckIn, col(PlanCheckIn.response_id) == col(ResponseRecord.id))
        .where(col(PlanCheckIn.plan_id) == plan.id)
        .order_by(col(ResponseRecord.created_at), col(ResponseRecord.id))
    ).all()
    return [origin, *check_ins]


def update_plan(
    session: Session, results: Results, plan: Plan, body: PlanUpdate, threshold: int
) -> Plan:
    """Change the time frame, targets and milestones. A condition whose target changes gets
    the milestones of the new target from the latest answers (those it shares keep their
    state); milestone ids that the condition does not have are refused."""
    result, answers = _current(session, results, plan, threshold)
    team_stages = _known_team_stages(result) if plan.team_id else {}
    picked = _choices(results.scorer.framework, result, body.conditions)
    before = {item["condition"]: item for item in plan.items}
    items = []
    for i, ((slug, target), update) in enumerate(zip(picked, body.conditions, strict=True)):
        item = before.get(slug)
        if item is None or item["target_stage"] != target:
            fresh = milestones_for(
                results.scorer.quiz, answers, slug, target, team_stages.get(slug)
            )
            old = {milestone_id(m): m for m in (item or {}).get("milestones", [])}
            item = {
                "condition": slug,
                "target_stage": target,
                "milestones": [old.get(milestone_id(m), m) for m in fresh],
            }
        milestones = {milestone_id(m): dict(m) for m in item["milestones"]}
        for j, change in enumerate(update.milestones):
            found = milestones.get(change.id)
            if found is None:  # a part of the plan that does not exist, as an unknown plan is
                raise NotFound(
                    f"'{change.id}' is not a milestone of this condition in the plan.",
                    [
                        {
                            "field": f"conditions.{i}.milestones.{j}.id",
                            "code": "unknown_milestone",
                            "message": "no such milestone in the plan",
                        }
                    ],
                )
            found.update(
                done=change.done,
                owner=change.owner,
                due=change.due.isoformat() if change.due else None,
            )
        items.append({**item, "milestones": list(milestones.values())})
    plan.items = items
    plan.time_frame = body.time_frame
    plan.updated_at = utcnow()
    session.add(plan)
    session.commit()
    session.refresh(plan)
    return plan


def _current(
    session: Session, results: Results, plan: Plan, threshold: int
) -> tuple[StoredResult, list[dict[str, Any]]]:
    """The latest result and its answers: the newest check-in's, or the team's picture now."""
    if plan.team_id is not None:
        return team_result(session, results, get_team(session, plan.team_id), threshold), []
    latest = plan_responses(session, plan)[-1]
    return results.full(session, latest), latest.answers


def record_check_in(session: Session, token: str, response_id: str) -> Plan:
    """A response taken again from the plan belongs to it (once, however often it is sent)."""
    plan = plan_for_token(session, token)
    if plan.response_id is None:  # a team's plan: its members take the quiz through the team
        return plan
    if not RESPONSE_ID.match(response_id):
        raise NotFound("No response with that id.")
    if session.get(PlanCheckIn, (plan.id, response_id)) is None:
        session.add(PlanCheckIn(plan_id=plan.id, response_id=response_id))
        session.commit()
    return plan


def _evidence(
    answers: list[dict[str, Any]], quiz: Quiz, condition: str
) -> list[AnswerEvidenceShown]:
    """Notes and links kept with this condition's answers (issue 22, part 2: stored in each
    answer's `evidence`, when the respondent gave any). Links are shown only if http(s)."""
    asked = {q.id for q in quiz.questions_for(condition)}
    shown = []
    for answer in answers:
        evidence = answer.get("evidence")
        if answer.get("question_id") not in asked or not isinstance(evidence, dict):
            continue
        note, link = evidence.get("note"), evidence.get("link")
        link = link if isinstance(link, str) and re.match(r"^https?://[^\s]+$", link) else None
        note = note if isinstance(note, str) and note.strip() else None
        if note or link:
            shown.append(
                AnswerEvidenceShown(question_id=str(answer["question_id"]), note=note, link=link)
            )
    return shown


def plan_view(session: Session, results: Results, plan: Plan, threshold: int) -> PlanPublic:
    """The plan as the page, the API and the documents show it."""
    framework, quiz = results.scorer.framework, results.scorer.quiz
    names = results.scorer.stage_names
    records = plan_responses(session, plan)
    full = [results.full(session, r) for r in records]
    latest_result, answers = _current(session, results, plan, threshold)
    latest = records[-1] if records else None
    current = _stages(latest_result)
    conditions = []
    for item in plan.items:
        condition = framework.condition(item["condition"])
        if condition is None:  # a condition later content no longer has: left out
            continue
        target = int(item["target_stage"])
        stage = next(s for s in condition.stages if s.level == target)
        now = current.get(condition.slug)
        conditions.append(
            PlanCondition(
                condition=condition.slug,
                name=condition.name,
                current_stage=now,
                current_stage_name=names[now] if now is not None else "Unknown",
                target_stage=target,
                target_stage_name=names[target],
                stage=stage,
                early_adopter=condition.early_adopter,
                early_adopter_note=condition.early_adopter_note,
                source_url=condition.source_url,
                milestones=[
                    Milestone(
                        id=milestone_id(m),
                        question_id=m["question_id"],
                        option_id=m["option_id"],
                        stage=m["stage"],
                        stage_name=names[m["stage"]],
                        label=m["label"],
                        done=bool(m.get("done")),
                        owner=m.get("owner"),
                        due=date.fromisoformat(m["due"]) if m.get("due") else None,
                    )
                    for m in item["milestones"]
                ],
                evidence=_evidence(answers, quiz, condition.slug),
            )
        )
    milestones = [m for c in conditions for m in c.milestones]
    planned = [c.condition for c in conditions]
    return PlanPublic(
        created_at=as_utc(plan.created_at),
        updated_at=as_utc(plan.updated_at),
        time_frame=cast(TimeFrame, plan.time_frame),
        response_id=plan.response_id,
        latest_response_id=latest.id if latest else None,
        team_id=plan.team_id,
        quiz_version=latest.quiz_version if latest else quiz.version,
        scoring_version=latest.scoring_version if latest else SCORING_VERSION,
        progress=Progress(done=sum(m.done for m in milestones), total=len(milestones)),
        conditions=conditions,
        history=[
            CheckInStages(
                response_id=r.id,
                created_at=as_utc(r.created_at),
                stages={slug: _stages(f).get(slug) for slug in planned},
            )
            for r, f in zip(records, full, strict=True)
        ],
    )


def latest_results(
    session: Session, results: Results, plan: Plan, threshold: int
) -> tuple[StoredResult | None, StoredResult]:
    """The results of the check-in before the newest and of the newest (None before: no
    check-in yet, and always for a team's plan)."""
    records = plan_responses(session, plan)
    if len(records) < 2:
        return None, _current(session, results, plan, threshold)[0]
    return results.full(session, records[-2]), results.full(session, records[-1])
