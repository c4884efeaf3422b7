"""The framework's content and the quiz: pure Python, no web framework, no database."""

from pathlib import Path

from quiz.framework import DATA_DIR, Condition, ContentError, Framework, load_framework
from quiz.questions import ContextQuestion, Option, Question, Quiz, load_quiz
from quiz.snapshot import Snapshot, content_from_snapshot, content_snapshot, snapshot_hash

__all__ = [
    "DATA_DIR",
    "Condition",
    "ContentError",
    "ContextQuestion",
    "Framework",
    "Option",
    "Question",
    "Quiz",
    "Snapshot",
    "content_from_snapshot",
    "content_snapshot",
    "load_content",
    "load_framework",
    "load_quiz",
    "snapshot_hash",
]


def load_content(data_dir: Path = DATA_DIR) -> tuple[Framework, Quiz]:
    """The framework from `data_dir` and the quiz checked against it; raises `ContentError`."""
    framework = load_framework(data_dir)
    return framework, load_quiz(framework)
