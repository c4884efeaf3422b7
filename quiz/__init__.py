"""The framework's content and the quiz: pure Python, no web framework, no database."""

import os
from functools import lru_cache
from pathlib import Path

from quiz.framework import DATA_DIR, Condition, ContentError, Framework, load_framework
from quiz.questions import ContextQuestion, Option, Question, Quiz, load_quiz

__all__ = [
    "DATA_DIR",
    "Condition",
    "ContentError",
    "ContextQuestion",
    "Framework",
    "Option",
    "Question",
    "Quiz",
    "get_framework",
    "get_quiz",
    "load_framework",
    "load_quiz",
]


@lru_cache(maxsize=1)
def get_framework() -> Framework:
    """The framework loaded once from `data/` (cached for the life of the process)."""
    # QUIZ_DATA_DIR lets a deployment (or a test) point at another copy of the content.
    return load_framework(Path(os.environ.get("QUIZ_DATA_DIR") or DATA_DIR))


@lru_cache(maxsize=1)
def get_quiz() -> Quiz:
    """The quiz loaded once and checked against the framework."""
    return load_quiz(get_framework())
