"""Settings from the environment (and an optional `.env`); names are part of the public contract."""

import hashlib
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quiz import DATA_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/quiz.db"
    export_token: str | None = None
    # Wrong export tokens (bearer or sign-in) an address may send in the window before every
    # attempt of its gets 429, the right token too, until the oldest leaves it (app/analytics/analysts.py).
    token_failures_per_window: int = Field(default=10, ge=1)
    token_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    min_group_size: int = Field(default=5, ge=1)
    # A team's page shows nothing about its members until this many have answered.
    team_min_members: int = Field(default=3, ge=1)
    # A quiz saved to finish later (a private link, app/plans/drafts.py) is deleted this many
    # days after it was last saved.
    draft_retention_days: int = Field(default=30, ge=1, le=3650)
    # Comma-separated list of origins allowed to call the API from a browser.
    allowed_origins: str = ""
    rate_limit_per_minute: int = Field(default=30, ge=0)
    # The key under which the rate limiter stores its buckets (an address, a partner) as
    # HMACs. The same in every process of a deployment, so that limits hold across them; when
    # unset, derived from DATABASE_URL, which every process shares (docs/privacy.md).
    rate_limit_secret: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # After SIGTERM, new requests get a 503 for this long before the server stops (app/server.py).
    shutdown_drain_seconds: float = Field(default=2.0, ge=0, le=60)
    # Where links to results point (`result_url`, share links, webhooks). Without it, links use
    # the address a request came to only when its host is in ALLOWED_HOSTS; a forged Host
    # header never makes our links point elsewhere (they are relative then).
    public_base_url: str = ""
    allowed_hosts: str = "localhost,127.0.0.1"
    # The interactive API docs (/docs, /redoc) load Swagger UI and ReDoc from a CDN: off unless
    # turned on (development). /openapi.json is always served: it is the contract.
    api_docs: bool = False
    # The access log names method, route and status. Client addresses and full paths (with
    # result ids) only when this is on: the privacy promise covers logs too.
    access_log_detail: bool = False
    # A GET without a query is answered from what its route kept, before routing
    # (app/http/kept.py); off, every request reaches its route (which still keeps answers).
    answer_kept_before_routing: bool = True
    # Another copy of the framework content (a folder like `data/`).
    quiz_data_dir: Path = DATA_DIR
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    # Submissions a minute per API key, for partners created without their own limit.
    partner_rate_limit_per_minute: int = Field(default=600, ge=0)
    # Webhooks go to public https URLs only; this lets them reach private or loopback addresses
    # over plain http too. For development and tests, never in production.
    webhook_allow_private: bool = False
    # Seconds before the second try of a failed webhook; the third waits four times as long.
    webhook_retry_seconds: float = Field(default=12.0, gt=0)
    webhook_attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("DATABASE_URL must start with sqlite:// or postgresql+psycopg://")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # psycopg 3 is the driver we ship; accept the plain scheme people copy from providers.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def rate_limit_key(self) -> bytes:
        secret = self.rate_limit_secret or self.database_url
        return hashlib.sha256(b"rate-limit-key\x00" + secret.encode()).digest()

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    @property
    def proxies(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
