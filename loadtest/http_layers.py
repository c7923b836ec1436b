"""What the HTTP layers of a POST /posts cost, without the database.

`python -m loadtest.http_layers --rate 300 --duration 15` serves three apps in turn, each in its
own uvicorn process (the post service's server and options), sends them the same POST at a
steady rate over keep-alive connections, and reports each server's CPU per request:

- `bare`: an ASGI function that reads the body and answers 201, the floor of uvicorn itself;
- `minimal`: FastAPI with the post service's request model and a plain (threaded) route;
- `chassis`: the post service's own stack (`chassis.api.create_api`, its route class, its
  middleware, the Idempotency-Key header, a log line) around a route that stores nothing.

The post service's CPU per post (`python -m loadtest.cpu`) less `chassis` is what its
transaction costs it: the driver, the pool, the thread hand-offs and the GIL around them.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import aiohttp
import orjson
import structlog
from fastapi import APIRouter, FastAPI, Header, Response
from sqlalchemy import create_engine
from starlette.types import Receive, Scope, Send

from chassis.api import create_api
from chassis.error_responses import EveryMethodRoute
from chassis.heap import freeze_startup_heap
from chassis.logs import configure_logging
from loadtest import cpu
from post_service.domain.idempotency import KEY_PATTERN
from post_service.entrypoints.schemas import PostCreate

APPS = ("bare", "minimal", "chassis")
ANSWER = orjson.dumps(
    {"post_id": 1, "event_id": "0" * 36, "author_id": 1, "title": "t", "content": "c",
     "created_at": "2026-12-04T18:00:00Z"}
)  # fmt: skip
REQUEST = {"author_id": 5, "title": "hello", "content": "x" * 200}
log = structlog.get_logger()


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": ANSWER})


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """The startup heap frozen once the app is ready, as every API of the system does
    (chassis.api.serving), so that the three apps differ only in their layers."""
    await receive()  # lifespan.startup
    freeze_startup_heap()
    await send({"type": "lifespan.startup.complete"})
    await receive()  # lifespan.shutdown
    await send({"type": "lifespan.shutdown.complete"})


@asynccontextmanager
async def frozen_once_started(app: FastAPI) -> AsyncIterator[None]:
    freeze_startup_heap()
    yield


def minimal() -> FastAPI:
    app = FastAPI(lifespan=frozen_once_started)

    @app.post("/posts", status_code=201)
    def create(body: PostCreate) -> Response:
        return Response(ANSWER, 201, media_type="application/json")

    return app


def chassis() -> FastAPI:
    configure_logging("info")
    posts = APIRouter(prefix="/posts", route_class=EveryMethodRoute)

    @posts.post("", status_code=201)
    def create(
        body: PostCreate,
        key: Annotated[str | None, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)] = None,
    ) -> Response:
        log.info("post created", post_id=1, event_id="0" * 36)
        return Response(ANSWER, 201, media_type="application/json")

    never_connected = create_engine("mysql+pymysql://nobody@127.0.0.1:1/none", pool_size=16)
    return create_api(
        service="layers", engine=never_connected, routers=[posts], max_body_bytes=128 * 1024,
        unavailable_detail="unused", max_in_flight=64,
    )  # fmt: skip


async def drive(url: str, rate: float, duration_s: float, server: int) -> float:
    """The server's ms of CPU per request over duration_s at rate requests a second."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def one() -> None:
            async with session.post(url, json=REQUEST) as answer:
                await answer.read()
                if answer.status != 201:
                    raise RuntimeError(f"{url} answered {answer.status}")

        for _ in range(50):  # warm up, and open the connections
            await one()
        count = int(rate * duration_s)
        before, started = cpu.ticks([server]), time.monotonic()
        requests = []
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            requests.append(asyncio.create_task(one()))
        await asyncio.gather(*requests)
        spent_ms = (cpu.ticks([server]) - before) * cpu.MS_PER_TICK
    return spent_ms / count


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(app: str, rate: float, duration_s: float) -> float:
    port = free_port()
    factory = ["--factory"] if app != "bare" else []
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"loadtest.http_layers:{app}", *factory,
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{app} did not start") from None
                time.sleep(0.2)
        return asyncio.run(drive(f"http://127.0.0.1:{port}/posts", rate, duration_s, server.pid))
    finally:
        server.terminate()
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.http_layers", description=__doc__)
    parser.add_argument("--rate", type=float, default=300, help="requests per second")
    parser.add_argument("--duration", type=float, default=15, help="seconds per app")
    parser.add_argument("--rounds", type=int, default=2, help="each app this many times, in turn")
    arguments = parser.parse_args()
    results: dict[str, list[float]] = {app: [] for app in APPS}
    for _ in range(arguments.rounds):
        for app in APPS:
            results[app].append(measure(app, arguments.rate, arguments.duration))
    print(f"server CPU per request at {arguments.rate:g}/s (ms), round by round:")
    for app, figures in results.items():
        print(f"  {app:8s} " + "  ".join(f"{figure:.3f}" for figure in figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
