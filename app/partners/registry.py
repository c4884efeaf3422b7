"""Partners: who may embed the quiz and call the API with a key, and where their webhooks go.

API keys are shown once and stored only as a sha256 hash (they are 256 random bits, so a plain
hash cannot be reversed). The webhook signing secret is stored as is: signing needs it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.cache import Cache, CachePolicy, Caches
from app.errors import PartnerError, Unauthorized
from app.models import Partner, utcnow
from app.partners.addresses import resolve_webhook

SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")
ORIGIN_CACHE_SECONDS = 30


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key(slug: str) -> str:
    return f"sq_{slug}_{secrets.token_urlsafe(32)}"


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def normalise_origin(origin: str) -> str:
    """`scheme://host[:port]`, lower-cased, or a `PartnerError`."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PartnerError(f"'{origin}' is not an origin like https://example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise PartnerError(f"'{origin}' must be an origin only: scheme, host and port, no path")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """The webhook URL, cleaned, or a `PartnerError` saying why it could reach our own network
    (app/partners/addresses.py has the rules; the sender checks again, and pins, at each try)."""
    return resolve_webhook(url, allow_private=allow_private).url


@dataclass(frozen=True)
class Created:
    partner: Partner
    api_key: str
    webhook_secret: str | None


def create_partner(
    session: Session,
    *,
    name: str,
    slug: str,
    origins: list[str],
    webhook_url: str | None,
    rate_limit_per_minute: int,
    allow_private_webhooks: bool,
) -> Created:
    if not SLUG.match(slug):
        raise PartnerError(f"slug '{slug}' must be lower-case letters, digits and hyphens")
    if session.exec(select(Partner).where(Partner.slug == slug)).first():
        raise PartnerError(f"a partner with slug '{slug}' already exists")
    if not origins:
        raise PartnerError("give at least one --origin")
    clean_origins = sorted({normalise_origin(o) for o in origins})
    url = (
        check_webhook_url(webhook_url, allow_private=allow_private_webhooks)
        if webhook_url
        else None
    )
    api_key = new_api_key(slug)
    secret = new_webhook_secret() if url else None
    partner = Partner(
        slug=slug,
        name=name.strip(),
        origins=clean_origins,
        api_key_hash=hash_key(api_key),
        webhook_url=url,
        webhook_secret=secret,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    session.add(partner)
    session.commit()
    session.refresh(partner)
    return Created(partner, api_key, secret)


def find_partner(session: Session, slug: str) -> Partner:
    partner = session.exec(select(Partner).where(Partner.slug == slug)).first()
    if partner is None:
        raise PartnerError(f"no partner with slug '{slug}'")
    return partner


def revoke_partner(session: Session, slug: str) -> Partner:
    partner = find_partner(session, slug)
    partner.revoked_at = partner.revoked_at or utcnow()
    session.add(partner)
    session.commit()
    return partner


def rotate_key(session: Session, slug: str) -> str:
    partner = find_partner(session, slug)
    if partner.revoked_at is not None:
        raise PartnerError(f"partner '{slug}' is revoked")
    api_key = new_api_key(slug)
    partner.api_key_hash = hash_key(api_key)
    session.add(partner)
    session.commit()
    return api_key


def partner_for_key(session: Session, api_key: str) -> Partner:
    """The active partner holding `api_key`, or 401."""
    partner = session.exec(select(Partner).where(Partner.api_key_hash == hash_key(api_key))).first()
    if partner is None or partner.revoked_at is not None:
        raise Unauthorized("The API key is not valid, or it has been revoked.")
    return partner


def active_partner(session: Session, slug: str | None) -> Partner | None:
    if not slug or not SLUG.match(slug):
        return None
    partner = session.exec(select(Partner).where(Partner.slug == slug)).first()
    return partner if partner is not None and partner.revoked_at is None else None


# Every active partner's origins, re-read from the database at most every 30 seconds, so CORS
# answers without a query per request (a revoked partner's origins go within that).
ORIGINS = CachePolicy("partners' origins", max_items=1, ttl=ORIGIN_CACHE_SECONDS)


class OriginCache:
    """The origins CORS lets call the API: the active partners' and ALLOWED_ORIGINS."""

    def __init__(self, engine: Engine, extra: list[str], caches: Caches | None = None):
        self.engine = engine
        self.extra = frozenset(extra)
        self._kept: Cache[None, frozenset[str]] = (caches or Caches()).of(ORIGINS)

    def allowed(self) -> frozenset[str]:
        """May read the database (at most every ORIGIN_CACHE_SECONDS): call it off the loop."""
        origins = self._kept.get(None)
        if origins is None:
            with Session(self.engine) as session:
                rows = session.exec(select(Partner).where(Partner.revoked_at == None)).all()  # noqa: E711
            origins = frozenset(o for p in rows for o in p.origins) | self.extra
            self._kept.put(None, origins)
        return origins

    def fresh(self) -> frozenset[str] | None:
        """The origins when they are at hand, without reading the database; else None."""
        return self._kept.get(None)

    def forget(self) -> None:
        self._kept.clear()
