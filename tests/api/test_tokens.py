"""Server-issued tokens (app/tokens.py): what is accepted, what is not, one secret per database."""

from __future__ import annotations

import time

from app.db import make_engine
from app.tokens import CLOCK_SKEW_SECONDS, EMBED_TOKEN_SECONDS, Tokens, load_secret
from tests.support import migrated

TOKENS = Tokens(b"k" * 32)


def test_form_tokens_are_ours_or_none() -> None:
    token = TOKENS.form()
    assert TOKENS.issued_form(token) == token
    assert Tokens(b"another deployment").issued_form(token) is None
    nonce, _, signature = token.partition(".")
    for forged in (
        None,
        "",
        "order-1001",
        nonce,
        f"{nonce}.",
        f".{signature}",
        f"{nonce}x.{signature}",
        f"{nonce}.{signature[:-1]}",
        f"{nonce}.{signature}é",  # non-ASCII: refused, not a TypeError from compare_digest
    ):
        assert TOKENS.issued_form(forged) is None, forged


def test_embed_tokens_are_for_one_partner_and_one_day() -> None:
    now = time.time()
    token = TOKENS.embed("news", now)
    assert TOKENS.embed_ok(token, "news", now)
    assert TOKENS.embed_ok(token, "news", now + EMBED_TOKEN_SECONDS - 1)
    assert not TOKENS.embed_ok(token, "news", now + EMBED_TOKEN_SECONDS + 1)  # stale
    assert not TOKENS.embed_ok(token, "rival", now)  # another partner's page
    assert TOKENS.embed_ok(TOKENS.embed("news", now + CLOCK_SKEW_SECONDS - 1), "news", now)
    assert not TOKENS.embed_ok(TOKENS.embed("news", now + CLOCK_SKEW_SECONDS + 9), "news", now)
    issued, _, signature = token.partition(".")
    for forged in (
        None,
        "",
        issued,
        f"{int(issued) + 1}.{signature}",  # another time, the same signature
        f"²{issued}.{signature}",  # a Unicode digit int() would not read
        f"{issued}.{signature}é",
        "9" * 40 + "." + signature,
    ):
        assert not TOKENS.embed_ok(forged, "news", now), forged


def test_one_secret_per_database_whoever_starts_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    engine = make_engine(url)
    try:
        secrets = []
        for _ in range(2):  # two processes starting: the second reads what the first wrote
            with engine.begin() as connection:
                secrets.append(load_secret(connection))
    finally:
        engine.dispose()
    assert secrets[0] == secrets[1] and len(secrets[0]) == 32
    assert Tokens(secrets[1]).issued_form(Tokens(secrets[0]).form())
