"""Scoring: answers -> stage per condition -> ranked, explained result. Pure Python."""

from scoring.changes import ConditionChange, changes
from scoring.engine import DEFAULT_TOP, Scorer
from scoring.models import (
    SCORING_VERSION,
    Answer,
    AnswerEvidence,
    Computed,
    Problem,
    Result,
    StageEstimate,
    Submission,
    SubmissionContext,
    SubmissionInvalid,
)

__all__ = [
    "DEFAULT_TOP",
    "SCORING_VERSION",
    "Answer",
    "AnswerEvidence",
    "Computed",
    "ConditionChange",
    "Problem",
    "Result",
    "Scorer",
    "StageEstimate",
    "Submission",
    "SubmissionContext",
    "SubmissionInvalid",
    "changes",
]
