"""Signed webhooks: `response.completed` events POSTed to partners after the commit.

The delivery row is written in the same transaction as the response it reports (an outbox), so
an event is never lost; a background thread in each app process sends due deliveries, retries
with backoff, and picks up what a stopped process left pending. A delivery is claimed with a
conditional UPDATE, so two processes never send the same try. Signatures follow the Standard
Webhooks scheme: HMAC-SHA256 over `id.timestamp.body`, base64, as `v1,<signature>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import error_summary
from app.errors import PartnerError
from app.models import Partner, WebhookDelivery, utcnow
from app.partners import check_webhook_url

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("app.webhooks")


# How long a claimed delivery stays with the process that claimed it before others may retry.
CLAIM_SECONDS = 60.0
IDLE_POLL_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0


def _http_client() -> httpx.Client:
    """Made when the first delivery is due, not at start-up: importing httpx and loading its
    certificates took the CPU a starting worker needs for its first answers, and most
    processes never send a webhook."""
    import httpx

    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)


def new_delivery_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def event_body(
    *, response_id: str, created_at: datetime, result: dict[str, Any], result_url: str
) -> str:
    """The exact JSON that is signed and sent."""
    return json.dumps(
        {
            "event": "response.completed",
            "id": response_id,
            "created_at": created_at.isoformat(),
            "quiz_version": result["quiz_version"],
            "result_url": result_url,
            **result_summary(result),
        },
        separators=(",", ":"),
    )


def result_summary(result: dict[str, Any]) -> dict[str, Any]:
    """What partners hear of a result: each condition's stage and the "begin here" list (the
    first three recommendations for results stored before that list existed)."""
    return {
        "stages": {c["slug"]: c["stage"] for c in result["conditions"]},
        "top": result.get("begin_here") or [r["slug"] for r in result["recommendations"][:3]],
    }


def sign(secret: str, delivery_id: str, timestamp: int, body: str) -> str:
    """The `Webhook-Signature` header value for one try."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def delivery_for(partner: Partner, response_id: str, body: str) -> WebhookDelivery | None:
    if not partner.webhook_url or partner.id is None:
        return None
    return WebhookDelivery(
        id=new_delivery_id(),
        partner_id=partner.id,
        response_id=response_id,
        payload=body,
        next_attempt_at=time.time(),
    )


class WebhookSender:
    """One background thread per app process that sends due deliveries."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=TIMEOUT_SECONDS + 5)

    def wake(self) -> None:
        """A response with a webhook was just committed: look now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        client: httpx.Client | None = None
        try:
            while not self._stop.is_set():
                try:
                    while (claimed := self._claim_one()) is not None:
                        client = client or _http_client()
                        self._send(client, *claimed)
                        if self._stop.is_set():
                            return
                    wait = self._seconds_to_next()
                except Exception as exc:  # the thread must outlive a database hiccup
                    if self.settings.access_log_detail:
                        log.exception("webhook sender failed; retrying")
                    else:  # no statement, id or address in the log (docs/privacy.md)
                        log.warning("webhook sender failed (%s); retrying", error_summary(exc))
                    wait = IDLE_POLL_SECONDS
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            if client is not None:
                client.close()

    def _seconds_to_next(self) -> float:
        with Session(self.engine) as session:
            due = session.exec(
                select(WebhookDelivery.next_attempt_at)
                .where(col(WebhookDelivery.status).in_(("pending", "sending")))
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(1)
            ).first()
        if due is None:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.0, due - time.time()))

    def _claim_one(self) -> tuple[WebhookDelivery, Partner] | None:
        """Take one due delivery (or one a stopped process left claimed) for this process."""
        now = time.time()
        with Session(self.engine) as session:
            candidates = session.exec(
                select(WebhookDelivery)
                .where(
                    col(WebhookDelivery.status).in_(("pending", "sending")),
                    col(WebhookDelivery.next_attempt_at) <= now,
                )
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(5)
            ).all()
            for d in candidates:
                taken = session.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.id) == d.id,
                        col(WebhookDelivery.status) == d.status,
                        col(WebhookDelivery.next_attempt_at) == d.next_attempt_at,
                    )
                    .values(status="sending", next_attempt_at=now + CLAIM_SECONDS)
                )
                session.commit()
                if taken.rowcount == 1:  # type: ignore[attr-defined]  # CursorResult at runtime
                    partner = session.get(Partner, d.partner_id)
                    delivery = session.get(WebhookDelivery, d.id)
                    if partner is not None and delivery is not None:
                        session.expunge_all()
                        return delivery, partner
        return None

    def _send(self, client: httpx.Client, delivery: WebhookDelivery, partner: Partner) -> None:
        error = self._try(client, delivery, partner)
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error}
        if error is None:
            values |= {"status": "delivered", "delivered_at": utcnow()}
        elif attempts >= self.settings.webhook_attempts or partner.revoked_at is not None:
            values |= {"status": "failed"}
        else:
            backoff = self.settings.webhook_retry_seconds * 4 ** (attempts - 1)
            values |= {"status": "pending", "next_attempt_at": time.time() + backoff}
        with Session(self.engine) as session:
            session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery.id)
                .values(**values)
            )
            session.commit()

    def _try(self, client: httpx.Client, delivery: WebhookDelivery, partner: Partner) -> str | None:
        """Send once; None on success, else what went wrong."""
        import httpx  # already loaded with the client; see _http_client

        if partner.revoked_at is not None or not partner.webhook_url or not partner.webhook_secret:
            return "the partner is revoked or has no webhook any more"
        try:
            # Checked again at send time: the host's address may have changed since `add`.
            check_webhook_url(
                partner.webhook_url, allow_private=self.settings.webhook_allow_private
            )
        except PartnerError as exc:
            return exc.message[:500]
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "where-to-begin-webhooks/1",
            "Webhook-Id": delivery.id,
            "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": sign(
                partner.webhook_secret, delivery.id, timestamp, delivery.payload
            ),
        }
        try:
            response = client.post(partner.webhook_url, content=delivery.payload, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        host = urlsplit(partner.webhook_url).hostname
        return f"{host} answered {response.status_code}"
