"""Dependencies shared by the routers: the database session, the content and the settings."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.config import Settings
from quiz import Framework, Quiz


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_framework_dep(request: Request) -> Framework:
    return request.app.state.framework


def get_quiz_dep(request: Request) -> Quiz:
    return request.app.state.quiz


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
FrameworkDep = Annotated[Framework, Depends(get_framework_dep)]
QuizDep = Annotated[Quiz, Depends(get_quiz_dep)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
