"""Figure 3 — serve a feed, and the load figure: `roundtable feeds serve` on
loopback, polled by many subscribers at once (200 in the full size, each with its own
private URL), each on its own keep-alive connection, as fast as it is answered, for a
bounded time: first with conditional requests (If-None-Match: the 304 a calendar client
gets when nothing changed), then without (the full 200).

Floor: the same ASGI server (uvicorn, one process, the same settings) running an ASGI app
that answers a constant of the same size: the status line and headers our server sent
(uvicorn adds Date and Server to both) and a body of the feed's length, or our 304's
headers when the ETag matches. A 304 is nothing but its headers, so the same size means
the same headers; the ratio then counts our code alone, not HTTP's cost of the fields a
correct answer carries.
Target: 304 within 1.2x and 200 within 1.5x of the floor's requests per second; p50 and
p99 latency reported, and any error (a status other than the one expected, a broken or
timed-out connection) counted.

Each round polls both servers in turn; the figure compares each server's best round (the
one least disturbed by the rest of the machine), and the ratios round by round are printed
too, for their spread.

    python -m benchmarks.serve_feeds --size full
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import arguments, compare, header, temporary_home
from calendars.tokens import new_token, token_hash
from cycle.context import open_context
from cycle.operations import initialize, plan
from cycle.settings import Settings, settings_from_env
from cycle.store.repository import add_subscriber

SIZES = {"small": (20, 1.0, 1), "full": (200, 4.0, 5)}
"""subscribers, seconds per phase, rounds"""
MAX_REQUESTS = 100_000
"""Per subscriber and phase: a bound besides the time."""
TARGETS = {304: 1.2, 200: 1.5}
AUDIENCE = "all"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Answers:
    """What our server answered a subscriber: the 200's headers and body length, the 304's
    headers (without Date and Server, which uvicorn adds itself) and the ETag."""

    headers_200: list[tuple[str, str]]
    size: int
    headers_304: list[tuple[str, str]]
    etag: str


class ConstantFeed:
    """The floor: an ASGI app that answers a constant: the same headers as ours and a body of
    the same length, or our 304's headers to its ETag."""

    def __init__(self, answers: Answers) -> None:
        self.body = b"x" * answers.size
        self.etag = answers.etag.encode("ascii")
        self.headers_200 = [(name.encode(), value.encode()) for name, value in answers.headers_200]
        self.headers_304 = [(name.encode(), value.encode()) for name, value in answers.headers_304]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            for _ in range(2):  # startup, then shutdown
                message = await receive()
                await send({"type": f"{message['type']}.complete"})
            return
        if dict(scope["headers"]).get(b"if-none-match") == self.etag:
            await send({"type": "http.response.start", "status": 304, "headers": self.headers_304})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": self.headers_200})
        await send({"type": "http.response.body", "body": self.body})


def serve_constant(port: int, answers: str) -> None:
    """Run the floor's server (in its own process), as `feeds serve` runs uvicorn;
    `answers` is an `Answers` as JSON."""
    import uvicorn

    app = ConstantFeed(Answers(**json.loads(answers)))
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


# --- the subscribers ------------------------------------------------------------------------


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    until: float = 0.0
    """When the timed polls stop (monotonic), set when they start."""
    waiting: int = 0
    """Subscribers not yet connected with their first answer in hand."""
    go: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")

    def arrived(self) -> None:
        """One subscriber is ready to poll (or failed): the last one starts the clock."""
        self.waiting -= 1
        if self.waiting == 0:
            self.go.set()


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


async def _subscriber(port: int, path: str, *, conditional: bool, phase: Phase) -> None:
    """Connect and fetch the feed once (untimed: the ETag a calendar client keeps), wait for
    every other subscriber to have done so, then poll until the phase ends."""
    writer = None
    try:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            base = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: roundtable-benchmark\r\n"
            writer.write((base + "\r\n").encode("ascii"))
            status, headers, _ = await asyncio.wait_for(_response(reader), REQUEST_TIMEOUT)
        finally:
            phase.arrived()
        if status != 200:
            phase.errors.append(f"first request: {status}")
            return
        request = (base + (f"If-None-Match: {headers['etag']}\r\n" if conditional else "") + "\r\n").encode()
        expected = 304 if conditional else 200
        await phase.go.wait()
        for _ in range(MAX_REQUESTS):
            if time.monotonic() >= phase.until:
                break
            started = time.perf_counter()
            writer.write(request)
            # asyncio.timeout, not wait_for: wait_for makes a task per request, a cost of the
            # subscribers that the servers would otherwise wait on.
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, _, _ = await _response(reader)
            phase.latencies.append(time.perf_counter() - started)
            if status != expected:
                phase.errors.append(f"status {status}")
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        phase.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.close()


async def _poll(port: int, paths: list[str], *, conditional: bool, seconds: float) -> Phase:
    """Every subscriber polls at once for `seconds`, timed from when all have their first
    answer (so that fetching the full feed once each is not counted in either figure)."""
    phase = Phase(waiting=len(paths))
    subscribers = [
        asyncio.create_task(_subscriber(port, path, conditional=conditional, phase=phase)) for path in paths
    ]
    await phase.go.wait()
    started = time.monotonic()
    phase.until = started + seconds
    await asyncio.gather(*subscribers)
    phase.seconds = time.monotonic() - started
    return phase


def poll(port: int, paths: list[str], *, conditional: bool, seconds: float) -> Phase:
    return asyncio.run(_poll(port, paths, conditional=conditional, seconds=seconds))


# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server on port {port} exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start within {START_TIMEOUT:.0f} s")


def start(command: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=output)  # noqa: S603
    wait_until_up(port, server)
    return server


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)


def prepare(home: Path, subscribers: int) -> tuple[dict[str, str], list[str]]:
    """A store with cycle 9 planned and `subscribers` subscribers to `all`: the environment
    and each subscriber's feed path."""
    env = {**os.environ, "ROUNDTABLE_HOME": str(home), "PREFECT_HOME": str(home / "prefect")}
    env.pop("ROUNDTABLE_DATABASE_URL", None)
    env.pop("ROUNDTABLE_CONFIG", None)
    settings: Settings = settings_from_env(env)
    ctx = open_context(settings)
    initialize(ctx, now=NOW, actor="benchmark")
    plan(ctx, number=9, now=NOW, actor="benchmark")
    tokens = [new_token() for _ in range(subscribers)]

    def add(session: Any) -> None:
        for number, token in enumerate(tokens):
            add_subscriber(
                session,
                name=f"subscriber {number}",
                token_hash=token_hash(token),
                audiences=[AUDIENCE],
                lang="en",
                now=NOW,
                actor="benchmark",
            )

    ctx.store.transaction(add)
    ctx.store.dispose()
    return env, [f"/feeds/{token}/{AUDIENCE}.ics?lang=en" for token in tokens]


def our_answers(port: int, path: str) -> Answers:
    """Ask our server for the feed at `path`, then again with its ETag."""
    added_by_uvicorn = {"date", "server"}

    async def fetch(headers: str) -> tuple[int, dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
        answer = await _response(reader)
        writer.close()
        return answer

    status, headers, body = asyncio.run(fetch(""))
    assert status == 200, status
    status, unchanged, _ = asyncio.run(fetch(f"If-None-Match: {headers['etag']}\r\n"))
    assert status == 304, status
    return Answers(
        headers_200=[(n, v) for n, v in headers.items() if n not in added_by_uvicorn],
        size=len(body),
        headers_304=[(n, v) for n, v in unchanged.items() if n not in added_by_uvicorn],
        etag=headers["etag"],
    )


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "")
    subscribers, seconds, rounds = SIZES[args.size]
    header(f"Figure 3: serve a feed to {subscribers} subscribers polling at once", args.size)
    with temporary_home() as home:
        env, paths = prepare(home, subscribers)
        ours_port, floor_port = free_port(), free_port()
        # Every simulated subscriber comes from 127.0.0.1, one client to the rate limiter,
        # which would refuse all but 60 a minute: the figure is the server's, so no limit.
        serve = ["feeds", "serve", "--port", str(ours_port), "--rate-limit", "0"]
        ours = start(
            [sys.executable, "-c", "from flows.cli import main; main()", *serve],
            ours_port,
            env,
            home / "feeds-serve.log",
        )
        try:
            answers = our_answers(ours_port, paths[0])
            floor = start(
                [
                    sys.executable,
                    "-c",
                    "import sys; from benchmarks.serve_feeds import serve_constant; "
                    "serve_constant(int(sys.argv[1]), sys.argv[2])",
                    str(floor_port),
                    json.dumps(answers.__dict__),
                ],
                floor_port,
                env,
                home / "floor.log",
            )
            try:
                results: dict[tuple[str, int], list[Phase]] = {}
                for _ in range(rounds):
                    for status in (304, 200):
                        for name, port in (("roundtable", ours_port), ("floor", floor_port)):
                            phase = poll(port, paths, conditional=status == 304, seconds=seconds)
                            results.setdefault((name, status), []).append(phase)
            finally:
                stop(floor)
        finally:
            stop(ours)
    print(
        f"feed `{AUDIENCE}` (en) of cycle 9: {answers.size} bytes; {rounds} rounds of {seconds:g} s a phase; "
        f"the floor sends the same headers ({len(answers.headers_200)} with the 200, "
        f"{len(answers.headers_304)} with the 304)"
    )
    for status in (304, 200):
        for name in ("roundtable", "floor"):
            phases = results[(name, status)]
            best = max(phases, key=lambda p: p.per_second)
            errors = [e for p in phases for e in p.errors]
            print(
                f"{name} {status}: {best.per_second:.0f} requests/s, "
                f"p50 {best.percentile(0.5) * 1000:.1f} ms, p99 {best.percentile(0.99) * 1000:.1f} ms, "
                f"{sum(len(p.latencies) for p in phases)} requests, {len(errors)} errors"
                + (f" (first: {errors[0]})" if errors else "")
            )
        ours_best = max(p.per_second for p in results[("roundtable", status)])
        floor_best = max(p.per_second for p in results[("floor", status)])
        by_round = [
            f.per_second / o.per_second if o.per_second else float("inf")
            for o, f in zip(results[("roundtable", status)], results[("floor", status)], strict=True)
        ]
        print(
            f"{status}: ratio round by round {' '.join(f'{r:.2f}' for r in by_round)} "
            f"(median {statistics.median(by_round):.2f}x)"
        )
        # Seconds per request, so that the ratio reads like the other figures (lower is better).
        compare(
            f"figure 3: {status} responses, time per request",
            1 / ours_best,
            1 / floor_best,
            target=TARGETS[status],
        )


if __name__ == "__main__":
    main()
