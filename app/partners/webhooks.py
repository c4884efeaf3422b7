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

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import error_summary
from app.errors import PartnerError
from app.models import Partner, WebhookDelivery, utcnow
from app.partners.addresses import Resolver, Target, resolve_webhook, system_resolver

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("app.partners.webhooks")


# How long a claimed delivery stays with the process that claimed it before others may retry.
CLAIM_SECONDS = 60.0
IDLE_POLL_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0


def _http_client() -> httpx.Client:
    """Made when the first delivery is due, not at start-up: importing httpx and loading its
    certificates took the CPU a starting worker needs for its first answers, and most
    processes never send a webhook.

    Its own transport, so that HTTP(S)_PROXY in the environment is never used: a proxy would
    look the name up again and connect wherever that says, past the check (app/partners/addresses.py).
    No kept-alive connections: the pool keys connections by address, so one opened, and its
    certificate checked, for one partner's name could carry another partner's delivery to the
    same address; each delivery makes its own connection and checks its own name."""
    import httpx

    transport = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
    return httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS, follow_redirects=False)


def new_delivery_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def event_body(
    *,
    response_id: str,
    created_at: datetime,
    result: dict[str, Any],
    result_url: str,
    attribution: str | None,
    ref: str | None = None,
) -> str:
    """The exact JSON that is signed and sent. `attribution` tells the partner how the
    response came to be its own: "api_key" (its key) or "widget" (its embed page, whose token
    shows the form came from there, not who filled it in). `ref`, the widget's `data-ref`, is
    there only when the response has one (bodies of older responses stay as they were)."""
    return json.dumps(
        {
            "event": "response.completed",
            "id": response_id,
            "created_at": created_at.isoformat(),
            "quiz_version": result["quiz_version"],
            "result_url": result_url,
            **result_summary(result),
            "attribution": attribution,
            **({"ref": ref} if ref is not None else {}),
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

    def __init__(self, engine: Engine, settings: Settings, resolver: Resolver = system_resolver):
        self.engine = engine
        self.settings = settings
        # Looks up a webhook's host, once per try (tests answer with a rebinding stub).
        self.resolver = resolver
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
            # Checked again at send time: the host's address may have changed since `add`. The
            # addresses checked are the ones connected to: the client never looks the name up.
            target = resolve_webhook(
                partner.webhook_url,
                allow_private=self.settings.webhook_allow_private,
                resolver=self.resolver,
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
        error = "no address to connect to"
        for address in target.addresses:
            try:
                response = _post_to(client, target, address, delivery.payload, headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing was sent: the next checked address (IPv4 after IPv6, say) may answer.
                error = f"{type(exc).__name__}: {exc}"[:500]
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                return f"{type(exc).__name__}: {exc}"[:500]
            if 200 <= response.status_code < 300:
                return None
            return f"{target.host} answered {response.status_code}"
        return error


def _post_to(
    client: httpx.Client, target: Target, address: str, body: str, headers: dict[str, str]
) -> httpx.Response:
    """POST to `address`, one of the target's checked addresses, as if to its host: the URL
    names the address (so no lookup happens, and no other reading of the URL can pick another
    host), the Host header names the host, and TLS sends the host as SNI and verifies the
    certificate against it (httpx's `sni_hostname` extension)."""
    import httpx

    url = httpx.URL(target.url).copy_with(host=address)
    if target.literal:  # the URL names the address itself: no name to send
        return client.post(url, content=body, headers=headers)
    return client.post(
        url,
        content=body,
        headers={**headers, "Host": target.host_header},
        extensions={"sni_hostname": target.host},
    )
