"""The load and the checks of `make scale-test`, run by scripts/scale-test.sh once compose.yaml
is up (two app replicas behind nginx, one PostgreSQL). Standard library only (the host's
python3).

1. Load: --threads clients, each on its own keep-alive connection to the proxy, submit
   POST /api/v1/responses for --seconds, every submission with its own Idempotency-Key. At
   --kill-at seconds the --kill command runs (SIGKILL of one replica), at --restart-at the
   --restart command (it starts again). A submission that fails (connection error, 502, 503,
   504) is sent again with the SAME key and body until it is acknowledged: the client's retry
   is what makes a lost answer safe, since nginx does not resend a POST a replica may have
   stored (docker/proxy/nginx.conf).
2. Nothing lost: every acknowledged (201) submission is read back through the proxy with the
   result it was acknowledged with, and is in PostgreSQL (--psql) with exactly one key row.
3. Idempotency across replicas, in both of the app's key scopes (app/responses/submissions.py,
   `_key_hash`): keys sent to both replicas directly, in sequence and at the same moment, store
   one row each and replay its id. A key reused with another body is a 409 for a partner's API
   key (a partner made for the run with --cli), and for a client without one another key (the
   body is part of its scope): a new row, never the first one's id.

Prints the figures; exits 1 on any loss, idempotency breach, unexpected answer or submission
never acknowledged.
"""

import argparse
import collections
import hashlib
import http.client
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

RETRY_STATUSES = {502, 503, 504}
GIVE_UP_SECONDS = 30.0
PATH = "/api/v1/responses"


class Connection:
    """One keep-alive HTTP/1.1 connection, opened again after any error."""

    def __init__(self, base: str, timeout: float = 10.0) -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = url.hostname or "127.0.0.1", url.port or 80, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            answer = self.conn.getresponse()
            data = answer.read()
        except BaseException:
            self.close()
            raise
        if answer.will_close:
            self.close()
        return answer.status, answer.headers, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def result_digest(result: object) -> str:
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def partner_key_hash(slug: str, key: str) -> str:
    """What app/responses/submissions.py stores for a partner's key. A key sent without a
    partner is stored hashed with the request as the app validated it (defaults filled in),
    which this script does not rebuild: those are found by their response id instead."""
    return hashlib.sha256(f"{slug}\x00{key}".encode()).hexdigest()


def make_partner(cli: str, run: str) -> tuple[str, str]:
    """A partner for the run, through the app's CLI in a container: (slug, API key). Its own
    rate limit is far above the run's few submissions with it."""
    slug = f"{run}-partner"
    out = subprocess.run(
        [
            *shlex.split(cli),
            "partners",
            "add",
            "--name",
            f"Scale test {run}",
            "--slug",
            slug,
            "--origin",
            "https://scale-test.invalid",
            "--rate-limit",
            "100000",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    keys = [
        line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("API key:")
    ]
    if len(keys) != 1:
        raise SystemExit(f"no API key in the CLI's output: {out!r}")
    return slug, keys[0]


@dataclass
class Ack:
    key: str
    id: str
    digest: str
    attempts: int
    replayed: bool
    upstream: str
    at: float  # seconds since the load began
    latency: float  # of the attempt answered 201


@dataclass
class Tally:
    acks: list[Ack] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)  # (when, what)
    unexpected: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    requests: int = 0
    finished: float = 0.0  # when the thread's last submission was acknowledged


class Load:
    def __init__(self, proxy: str, quiz: dict, run: str, start: float) -> None:
        self.proxy, self.quiz, self.run, self.start = proxy, quiz, run, start
        self.conditions = sorted({q["condition"] for q in quiz["questions"]})

    def body(self, rng: random.Random) -> bytes:
        context = {
            q["id"]: rng.choice(q["options"])["id"]
            for q in self.quiz.get("context_questions", [])
            if rng.random() < 0.7
        }
        submission = {
            "quiz_version": self.quiz["version"],
            "answers": [
                {"question_id": q["id"], "option_id": rng.choice(q["options"])["id"]}
                for q in self.quiz["questions"]
            ],
            "context": context,
            "priorities": rng.sample(self.conditions, rng.randint(0, 3)),
        }
        return json.dumps(submission).encode()

    def worker(self, n: int, stop_at: float, tally: Tally) -> None:
        rng = random.Random(n)
        conn = Connection(self.proxy)
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            self.submit(conn, f"{self.run}-{n}-{i}", self.body(rng), tally)
        conn.close()
        tally.finished = time.monotonic() - self.start

    def submit(self, conn: Connection, key: str, body: bytes, tally: Tally) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key, "X-Scale-Test": "1"}
        first = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            tally.requests += 1
            sent = time.perf_counter()
            try:
                status, answer, data = conn.request("POST", PATH, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                what = type(exc).__name__
            else:
                if status == 201:
                    created = json.loads(data)
                    if not created["result_url"].startswith(f"{self.proxy}/results/"):
                        # PUBLIC_BASE_URL is the proxy: links never name a replica.
                        tally.unexpected.append(f"result_url {created['result_url']}")
                    tally.acks.append(
                        Ack(
                            key=key,
                            id=created["id"],
                            digest=result_digest(created["result"]),
                            attempts=attempts,
                            replayed=answer.get("Idempotent-Replayed") == "true",
                            upstream=answer.get("X-Upstream", ""),
                            at=time.monotonic() - self.start,
                            latency=time.perf_counter() - sent,
                        )
                    )
                    return
                if status not in RETRY_STATUSES:
                    tally.unexpected.append(f"{status} {data[:200]!r}")
                    return
                what = str(status)
            tally.errors.append((time.monotonic() - self.start, what))
            if time.monotonic() - first > GIVE_UP_SECONDS:
                tally.gave_up.append(key)
                return
            time.sleep(min(0.05 * 2**attempts, 1.0))


def run_command(command: str) -> None:
    subprocess.run(shlex.split(command), check=True, stdout=subprocess.DEVNULL)


def psql(command: str, sql: str) -> list[list[str]]:
    out = subprocess.run(
        [*shlex.split(command), "-F", "\t", "-c", sql], check=True, capture_output=True, text=True
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def db_state(command: str) -> tuple[set[str], dict[str, str], int]:
    """Stored response ids, key hash -> response id, responses stored without a key."""
    ids = {row[0] for row in psql(command, "SELECT id FROM responses")}
    keys = {
        row[0]: row[1]
        for row in psql(command, "SELECT key_hash, response_id FROM idempotency_keys")
    }
    unkeyed = int(
        psql(
            command,
            "SELECT count(*) FROM responses r WHERE NOT EXISTS "
            "(SELECT 1 FROM idempotency_keys k WHERE k.response_id = r.id)",
        )[0][0]
    )
    return ids, keys, unkeyed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def read_back(proxy: str, acks: list[Ack], threads: int) -> list[str]:
    """Every acknowledged id through the proxy; the problems found."""
    problems: list[str] = []
    lock = threading.Lock()

    def check(part: list[Ack]) -> None:
        conn = Connection(proxy)
        for ack in part:
            for attempt in range(3):
                try:
                    status, _, data = conn.request("GET", f"{PATH}/{ack.id}")
                    break
                except (OSError, http.client.HTTPException) as exc:
                    status, data = 0, str(exc).encode()
                    time.sleep(0.2 * (attempt + 1))
            if status != 200:
                with lock:
                    problems.append(f"GET {ack.id}: {status} {data[:120]!r}")
            elif result_digest(json.loads(data)["result"]) != ack.digest:
                with lock:
                    problems.append(f"GET {ack.id}: result differs from the one acknowledged")
        conn.close()

    parts = [acks[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=check, args=(part,)) for part in parts]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return problems


def post(
    conn: Connection, key: str, body: bytes, api_key: str | None = None
) -> tuple[int, str, bool]:
    """(status, id or error code, replayed) of one keyed submission, a partner's with api_key."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    if api_key is not None:
        headers["X-API-Key"] = api_key
    status, answer, data = conn.request("POST", PATH, body, headers)
    doc = json.loads(data)
    if status == 201:
        return status, doc["id"], answer.get("Idempotent-Replayed") == "true"
    return status, doc.get("error", {}).get("code", ""), False


def across_replicas(
    app1: str, app2: str, proxy: str, load: Load, run: str, command: str, partner: tuple[str, str]
) -> tuple[list[str], str]:
    """Keys sent to both replicas directly, without a partner and with `partner` (slug, API
    key): the breaches found, and a summary."""
    breaches: list[str] = []
    rng = random.Random(run)
    ids_before, _, _ = db_state(command)
    conns = {"app-1": Connection(app1), "app-2": Connection(app2), "proxy": Connection(proxy)}
    slug, api_key = partner
    sent: dict[tuple[str, str], str] = {}  # (scope, key) -> the id it must map to
    others = 0  # rows stored by a key reused with another body (no partner: another key)

    for scope, with_key in (("anonymous", None), ("partner", api_key)):
        # In sequence: one replica first, then the other, then the proxy; both orders.
        for i in range(10):
            key, body = f"{run}-{scope}-seq-{i}", load.body(rng)
            order = ["app-1", "app-2"] if i % 2 == 0 else ["app-2", "app-1"]
            answers = [post(conns[name], key, body, with_key) for name in [*order, "proxy"]]
            first, *rest = answers
            if first[0] != 201 or first[2]:
                breaches.append(f"in sequence, {key} on {order[0]}: {first}")
            for name, answer in zip([order[1], "proxy"], rest, strict=True):
                if answer[:3] != (201, first[1], True):
                    breaches.append(
                        f"in sequence, {key} on {name}: {answer}, first stored {first[1]}"
                    )
            sent[scope, key] = first[1]
            # The same key with another body, on the replica that did not store it.
            other_body = load.body(random.Random(f"{key}-other"))
            other = post(conns[order[1]], key, other_body, with_key)
            if scope == "partner" and other[:2] != (409, "idempotency_key_reused"):
                breaches.append(f"reused partner key {key} with another body: {other}, want 409")
            if scope == "anonymous":
                if other[0] != 201 or other[2] or other[1] == first[1]:
                    breaches.append(
                        f"reused key {key} with another body: {other}, want a new response "
                        f"(not {first[1]}, not replayed)"
                    )
                others += 1

        # At the same moment on both replicas, each on a connection already open.
        for i in range(20):
            key, body = f"{run}-{scope}-race-{i}", load.body(rng)
            barrier = threading.Barrier(2)
            got: dict[str, tuple[int, str, bool]] = {}

            def race(
                name: str,
                key: str = key,
                body: bytes = body,
                barrier=barrier,
                got=got,
                with_key: str | None = with_key,
            ) -> None:
                conns[name].request("GET", "/healthz")
                barrier.wait()
                try:
                    got[name] = post(conns[name], key, body, with_key)
                except (OSError, http.client.HTTPException) as exc:
                    got[name] = (0, repr(exc), False)

            threads = [threading.Thread(target=race, args=(name,)) for name in ("app-1", "app-2")]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            a, b = got["app-1"], got["app-2"]
            if a[0] != 201 or b[0] != 201 or a[1] != b[1] or a[2] == b[2]:
                breaches.append(
                    f"at once, {key}: app-1 {a}, app-2 {b} (want one stored, one replayed)"
                )
            sent[scope, key] = a[1]

    for conn in conns.values():
        conn.close()
    ids_after, keys, _ = db_state(command)
    key_rows = collections.Counter(keys.values())
    for (scope, key), response_id in sent.items():
        if scope == "partner":
            found = keys.get(partner_key_hash(slug, key))
            if found != response_id:
                breaches.append(f"{key} maps to {found} in PostgreSQL, not {response_id}")
        elif key_rows[response_id] != 1:
            breaches.append(f"{key}'s response {response_id} has {key_rows[response_id]} key rows")
    new_rows = len(ids_after - ids_before)
    if new_rows != len(sent) + others:
        breaches.append(f"{len(sent)} keys and {others} reused stored {new_rows} rows")
    summary = (
        f"without a partner and with a partner's API key, each 10 keys in sequence (one "
        f"replica, the other, the proxy) and 20 on both replicas at once: {new_rows} rows for "
        f"{len(sent)} keys and {others} reused, every repeat replayed the first id; a key "
        f"reused with another body on the other replica: a partner's 409 (10 of 10), without "
        f"a partner a new response (10 of 10)"
        if not breaches
        else f"{len(breaches)} breaches"
    )
    return breaches, summary


def wait_healthy(base: str, seconds: float = 60.0) -> float:
    start = time.monotonic()
    conn = Connection(base, timeout=2)
    while time.monotonic() - start < seconds:
        try:
            if conn.request("GET", "/healthz")[0] == 200:
                return time.monotonic() - start
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} not healthy after {seconds:.0f} s")


def rejoined(proxy: str, upstream: str, seconds: float = 15.0) -> float | None:
    """When (time.monotonic()) the proxy sent a request to `upstream` (None: not in `seconds`)."""
    start = time.monotonic()
    conn = Connection(proxy)
    while time.monotonic() - start < seconds:
        try:
            _, answer, _ = conn.request("GET", "/healthz", headers={"X-Scale-Test": "1"})
            if answer.get("X-Upstream", "").split(",")[-1].strip() == upstream:
                return time.monotonic()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proxy", required=True, help="base URL of the proxy")
    parser.add_argument("--app1", required=True, help="base URL of the replica that is killed")
    parser.add_argument("--app2", required=True, help="base URL of the other replica")
    parser.add_argument("--names", default="", help="ADDR:PORT=NAME,... for X-Upstream")
    parser.add_argument("--app1-upstream", required=True, help="app1's ADDR:PORT seen by nginx")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--kill-at", type=float, default=8)
    parser.add_argument("--kill", required=True, help="command that SIGKILLs app1")
    parser.add_argument("--restart-at", type=float, default=10)
    parser.add_argument("--restart", required=True, help="command that starts app1 again")
    parser.add_argument("--psql", required=True, help="psql command line, e.g. docker exec ...")
    parser.add_argument(
        "--cli", required=True, help="the app's CLI in a container, e.g. docker exec ... app.cli"
    )
    args = parser.parse_args()
    names = dict(item.split("=", 1) for item in args.names.split(",") if item)

    quiz = json.loads(Connection(args.proxy).request("GET", "/api/v1/quiz")[2])
    run = f"scale-{int(time.time())}"
    _, _, unkeyed_before = db_state(args.psql)

    start = time.monotonic()
    load = Load(args.proxy, quiz, run, start)
    stop_at = start + args.seconds
    tallies = [Tally() for _ in range(args.threads)]
    workers = [
        threading.Thread(target=load.worker, args=(n, stop_at, tallies[n]))
        for n in range(args.threads)
    ]
    for w in workers:
        w.start()
    events: dict[str, float] = {}
    time.sleep(max(0.0, start + args.kill_at - time.monotonic()))
    events["kill"] = time.monotonic() - start
    run_command(args.kill)
    events["killed"] = time.monotonic() - start  # docker kill has returned
    time.sleep(max(0.0, start + args.restart_at - time.monotonic()))
    events["restart"] = time.monotonic() - start
    run_command(args.restart)
    events["healthy"] = events["restart"] + wait_healthy(args.app1)
    for w in workers:
        w.join()
    elapsed = max(t.finished for t in tallies)
    with open("/proc/loadavg") as f:
        loadavg = f.read().split()[0]
    # Back in the rotation: the proxy sends to the restarted replica again.
    back_after = rejoined(args.proxy, args.app1_upstream)
    back_after = None if back_after is None else back_after - start

    acks = [a for t in tallies for a in t.acks]
    errors = sorted(e for t in tallies for e in t.errors)
    unexpected = [u for t in tallies for u in t.unexpected]
    gave_up = [g for t in tallies for g in t.gave_up]
    requests = sum(t.requests for t in tallies)
    failures: list[str] = []
    if back_after is None:
        failures.append("the proxy sent nothing to the restarted app-1 within 15 s")

    # Which replica answered, before the kill, while it was down, after it was started again.
    def name(upstream: str) -> str:
        last = upstream.split(",")[-1].strip()
        return names.get(last, last or "?")

    phases = {
        "before the kill": (0.0, events["killed"]),
        "while app-1 was down": (events["killed"], events["healthy"]),
        "after it answered again": (events["healthy"], elapsed + 1),
    }
    spread = []
    for label, (lo, hi) in phases.items():
        if lo >= elapsed:
            continue
        answered = [a for a in acks if lo <= a.at < hi]
        counts: dict[str, int] = {}
        for a in answered:
            counts[name(a.upstream)] = counts.get(name(a.upstream), 0) + 1
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        spread.append(f"{label} ({lo:.1f}-{min(hi, elapsed):.1f} s): {shown or 'none'}")
    back = [a.at for a in acks if a.at >= events["healthy"] and name(a.upstream) == "app-1"]
    passed_on = sum(1 for a in acks if "," in a.upstream)

    # Nothing lost: read back through the proxy, and found in PostgreSQL with its key.
    problems = read_back(args.proxy, acks, threads=16)
    ids, keys, unkeyed_after = db_state(args.psql)
    acked_ids = {a.id for a in acks}
    lost = sorted(acked_ids - ids)
    # Each acknowledged id the response of exactly one key (the load's keys are all different).
    key_rows = collections.Counter(keys.values())
    wrong_key = [a for a in acks if key_rows[a.id] != 1]
    if lost:
        failures.append(f"{len(lost)} acknowledged submissions not in PostgreSQL: {lost[:5]}")
    if problems:
        failures.append(f"{len(problems)} read back wrong through the proxy: {problems[:5]}")
    if wrong_key:
        failures.append(f"{len(wrong_key)} acknowledged ids without one key row: {wrong_key[:3]}")
    if len(acked_ids) != len(acks):
        failures.append("two keys were acknowledged with the same id")
    if unkeyed_after != unkeyed_before:
        failures.append(f"{unkeyed_after - unkeyed_before} rows stored without their key")
    if unexpected:
        failures.append(f"{len(unexpected)} unexpected answers: {unexpected[:3]}")
    if gave_up:
        failures.append(f"{len(gave_up)} submissions never acknowledged in {GIVE_UP_SECONDS:.0f} s")
    retried = [a for a in acks if a.attempts > 1]
    stored_unacked = len(ids) - len(acked_ids) - unkeyed_after
    # Idempotency across replicas, now that the killed one answers again.
    partner = make_partner(args.cli, run)
    breaches, across = across_replicas(
        args.app1, args.app2, args.proxy, load, run, args.psql, partner
    )
    failures += breaches

    latencies = [a.latency * 1000 for a in acks]
    steady = [a.latency * 1000 for a in acks if a.at < events["kill"]]
    kinds: dict[str, int] = {}
    for _, what in errors:
        kinds[what] = kinds.get(what, 0) + 1
    before_kill = sum(1 for at, _ in errors if at < events["kill"])
    wrong_retried = sum(1 for a in wrong_key if a.attempts > 1)
    if back:
        rejoin = f"answering submissions through the proxy again at {back[0]:.1f} s"
    elif back_after is not None:
        rejoin = f"after the last submission; the proxy sent it a request at {back_after:.1f} s"
    else:
        rejoin = "never sent a request by the proxy again"
    report = [
        f"load: {args.threads} client threads through the proxy for {args.seconds:.0f} s "
        f"({elapsed:.1f} s with the last retries); load average {loadavg} at the end "
        f"({os.cpu_count()} cores)",
        f"app-1 killed (SIGKILL) at {events['kill']:.1f} s (docker kill returned at "
        f"{events['killed']:.1f} s); started again at "
        f"{events['restart']:.1f} s, answering /healthz at {events['healthy']:.1f} s, {rejoin}",
        f"submissions acknowledged (201): {len(acks)}, {len(acks) / elapsed:.0f}/s "
        f"({requests} requests, {requests / elapsed:.0f}/s)",
        f"lost: {len(lost)} (read back through the proxy with the result acknowledged: "
        f"{len(acks) - len(problems)} of {len(acks)}; in PostgreSQL: "
        f"{len(acked_ids & ids)} of {len(acked_ids)})",
        f"latency through the proxy (requests answered 201): p50 "
        f"{statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, max "
        f"{max(latencies):.0f} ms; before the kill p50 {statistics.median(steady):.1f} ms, "
        f"p99 {percentile(steady, 99):.1f} ms",
        (
            f"errors seen by clients: {len(errors)} ("
            + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items()))
            + f") from {errors[0][0]:.2f} s to {errors[-1][0]:.2f} s; before the kill: "
            f"{before_kill}"
            if errors
            else "errors seen by clients: 0"
        ),
        f"retried with the same Idempotency-Key: {len(retried)} submissions, all acknowledged; "
        f"{sum(a.replayed for a in retried)} of them had been stored before their answer was "
        f"lost (the retry answered Idempotent-Replayed, same id); retried keys whose "
        f"acknowledged id has one key row: {len(retried) - wrong_retried} of {len(retried)}",
        f"nginx sent {passed_on} submissions on to the other replica after a failed connect",
        "answered by: " + "; ".join(spread),
        f"PostgreSQL: {len(ids)} responses, {len(keys)} keys, {unkeyed_after} without a key "
        f"({unkeyed_before} before the load); stored but never acknowledged: "
        f"{stored_unacked}",
        f"idempotency across replicas: {across}",
    ]
    print("\n".join(report))
    for failure in failures:
        print(f"FAIL: {failure}")
    print("scale test " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
