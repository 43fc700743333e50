"""The OP's own POSTs to RPs and webhooks (logout tokens, logout notifications): one HTTP client for the app's life, bounded in time, concurrency and what it reads."""

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any

import httpx

# What one attempt may cost at most, however slow or silent the receiver.
TIMEOUT = httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=5.0)
MAX_CONCURRENT = 64
# Idle connections kept for the next logout. Few on purpose: httpcore's pool scans every idle
# connection for each request it places, so a large idle pool made a 2000-RP fan-out three times
# slower than closing them.
MAX_IDLE = 8
# A logout answers its browser after at most this long, even if deliveries are still running.
OVERALL_BOUND = 20.0
# Only the status of an answer counts; a little of its body is read so that the connection can be
# reused, and a receiver that talks on is cut off.
MAX_ANSWER = 64 * 1024
MAX_BACKGROUND = 10_000

Delivery = Coroutine[Any, Any, None]


class Outbound:
    def __init__(self) -> None:
        self._http = httpx.AsyncClient(
            timeout=TIMEOUT,
            limits=httpx.Limits(max_connections=MAX_CONCURRENT, max_keepalive_connections=MAX_IDLE),
            # The receivers come from the config: no proxy or .netrc from the environment applies.
            trust_env=False,
        )
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        # The event loop holds tasks weakly: these keep running deliveries alive until done.
        self._running: set[asyncio.Task[None]] = set()

    async def post(
        self, url: str, *, form: dict[str, str] | None = None, json: object = None
    ) -> int | None:
        """POST a form or a JSON body; the answer's status code, or None when no answer came."""
        async with self._slots:
            try:
                async with self._http.stream("POST", url, data=form, json=json) as answer:
                    read = 0
                    async for chunk in answer.aiter_raw():
                        read += len(chunk)
                        if read > MAX_ANSWER:
                            break
                    return answer.status_code
            except httpx.HTTPError:
                return None

    async def all(self, deliveries: Iterable[Delivery]) -> None:
        """Run these side by side and wait for them, at most OVERALL_BOUND; late ones go on alone."""
        tasks = [self._run(delivery) for delivery in deliveries]
        if tasks:
            await asyncio.wait(tasks, timeout=OVERALL_BOUND)

    def later(self, delivery: Delivery) -> None:
        """Run this in the background, awaited by nobody; dropped when too many are running."""
        if len(self._running) >= MAX_BACKGROUND:
            delivery.close()
            return
        self._run(delivery)

    async def aclose(self) -> None:
        """Stop what still runs and close the connections (the app shuts down)."""
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self._http.aclose()

    def _run(self, delivery: Delivery) -> asyncio.Task[None]:
        task = asyncio.create_task(delivery)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task
