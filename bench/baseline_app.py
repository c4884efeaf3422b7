"""The bare baseline `make bench` drives next to the real service, in the same run.

The least any FastAPI + SQLModel + SQLite service does: a GET answering 6 KB of JSON serialised
once at start-up, and a POST validating a small body and inserting one row, a transaction per
request, the way the SQLModel tutorial writes it. Run as `uvicorn bench.baseline_app:app`;
BASELINE_DB names the SQLite file, or BASELINE_DATABASE_URL another database (the PostgreSQL
part of the bench: SQLModel's default engine, a pool of 5 + 10 connections per process).
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI, Response
from pydantic import BaseModel
from sqlmodel import Field, Session, SQLModel, create_engine

DB = os.environ.get("BASELINE_DB", "var/bench-baseline.db")
URL = os.environ.get("BASELINE_DATABASE_URL") or f"sqlite:///{DB}"
SQLITE = {"check_same_thread": False, "timeout": 30}
engine = create_engine(URL, connect_args=SQLITE if URL.startswith("sqlite") else {})
# About 6 KB, serialised once: what the fastest possible content endpoint looks like.
PAYLOAD = json.dumps(
    {"items": [{"id": i, "name": f"condition {i}", "text": "x" * 80} for i in range(48)]}
).encode()


class Item(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    value: int


class ItemIn(BaseModel):
    name: str
    value: int


SQLModel.metadata.create_all(engine)
app = FastAPI()


@app.get("/json")
def read_json() -> Response:
    return Response(PAYLOAD, media_type="application/json")


@app.post("/items", status_code=201)
def create_item(item: ItemIn) -> dict[str, int | None]:
    with Session(engine) as session:
        row = Item(name=item.name, value=item.value)
        session.add(row)
        session.commit()
        return {"id": row.id}
