"""Read-only content: the framework, one condition, the quiz."""

from fastapi import APIRouter

from app.deps import FrameworkDep, QuizDep
from app.errors import NotFound
from quiz import Condition, Framework, Quiz

router = APIRouter(tags=["content"])


@router.get("/framework", response_model=Framework)
def read_framework(framework: FrameworkDep) -> Framework:
    """The whole framework: stages, strategies, conditions, commitments and open notes."""
    return framework


@router.get(
    "/conditions/{slug}", response_model=Condition, responses={404: {"description": "Unknown slug"}}
)
def read_condition(slug: str, framework: FrameworkDep) -> Condition:
    """One condition with its three stages and early-adopter example."""
    condition = framework.condition(slug)
    if condition is None:
        raise NotFound(f"No condition with slug '{slug}'.")
    return condition


@router.get("/quiz", response_model=Quiz)
def read_quiz(quiz: QuizDep) -> Quiz:
    """The questions, each option mapped to a stage (null for "I'm not sure")."""
    return quiz
