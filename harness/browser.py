"""The browser actor: Playwright driving Debian's Chromium, one browser per worker, a fresh context per scenario.

It records every request the pages make (main frames, iframes, popups) with its order, so that steps
can tell what the browser really did; it fills login forms the way ``harness/formwalker.py`` does over
HTTP; it answers the harness's own URLs itself (routes), so no server has to listen for them; and at the
end of a scenario it attaches a screenshot of each logout's final page and, on failure, a redacted
Playwright trace.
"""

from __future__ import annotations

import io
import itertools
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Frame,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness import browser_trace
from harness.errors import ConfigError, TargetError, TargetUnreachable
from harness.formwalker import FormRule
from harness.http import origin
from harness.redact import REDACTOR
from harness.target import BrowserSettings

if TYPE_CHECKING:
    from harness.engine import Context, Runtime

__all__ = ["BrowserPool", "BrowserSession", "Seen", "session_for", "worker_pool"]

#: quiet on a closed network, and no shared memory limits in containers (reference/real-targets.md).
#: Local Network Access checks are off: here every party listens on loopback, and pages the harness
#: serves as "another site" would otherwise count as public ones framing a local address, which real
#: deployments (OP and RP both public) never meet. Site isolation (a renderer process per site) is off
#: too: it costs a process start per site a scenario visits (~0.2 s) and changes nothing the harness
#: judges (SameSite cookies and storage partitioning are the network and storage layers' business).
CHROMIUM_ARGS = ("--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--no-first-run", "--disable-dev-shm-usage", "--disable-gpu",
                 "--disable-features=LocalNetworkAccessChecks,IsolateOrigins,site-per-process",
                 "--disable-site-isolation-trials")
HARNESS_PAGE = "<!doctype html><title>harness</title><p>harness callback</p>"


@dataclass
class Seen:
    """One request the browser made, in the order Chromium reported it."""

    seq: int
    url: str
    method: str
    resource_type: str
    #: main (the scenario's first page), sub (an iframe), popup (any other page)
    frame: str
    navigation: bool
    at: float
    request: Request
    response: Response | None = None
    failure: str | None = None

    @property
    def status(self) -> int | None:
        return self.response.status if self.response else None

    def headers(self) -> dict[str, str]:
        """The response's headers, Set-Cookie included (empty when it failed)."""
        if self.response is None:
            return {}
        try:
            return self.response.all_headers()
        except PlaywrightError:
            return {}

    def request_headers(self) -> dict[str, str]:
        try:
            return self.request.all_headers()
        except PlaywrightError:
            return {}


class BrowserPool:
    """The worker's browser: launched on first use, closed with the runtime."""

    def __init__(self, settings: BrowserSettings) -> None:
        self.settings = settings
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def browser(self) -> Browser:
        if self._browser is None:
            executable = self.settings.executable
            if not Path(executable).is_file():
                raise ConfigError(f"no Chromium at {executable} (browser.executable); `make setup` installs "
                                  "Debian's chromium package")
            self._playwright = sync_playwright().start()
            try:
                self._browser = self._playwright.chromium.launch(
                    executable_path=executable, headless=True, args=list(CHROMIUM_ARGS),
                    timeout=self.settings.timeout * 1000)
            except PlaywrightError as exc:
                self.close()
                raise ConfigError(f"Chromium at {executable} did not start: {_first_line(exc)}") from None
        return self._browser

    def session(self, routes: Mapping[str, str] | None = None) -> BrowserSession:
        """A fresh context (no cookies, no storage) for one scenario; ``routes`` maps URL prefixes the
        harness owns to the HTML it answers there."""
        return BrowserSession(self.browser().new_context(), self.settings, routes or {})

    def close(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except PlaywrightError:
                pass  # already gone with its process
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = None


class BrowserSession:
    """One scenario's browser context: its pages, everything they requested, its screenshots."""

    def __init__(self, context: BrowserContext, settings: BrowserSettings, routes: Mapping[str, str]) -> None:
        self.context = context
        self.settings = settings
        self.timeout_ms = settings.timeout * 1000
        self.seen: list[Seen] = []
        self.screenshots: list[tuple[str, bytes]] = []
        self._seq = itertools.count()
        self._by_request: dict[Request, Seen] = {}
        self._main: Page | None = None
        self._routes = dict(routes)
        self._pages: dict[Request, str] = {}
        context.set_default_timeout(self.timeout_ms)
        context.set_default_navigation_timeout(self.timeout_ms)
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_failed)
        if settings.trace != "never":
            # DOM snapshots cost a third of a scenario: kept for `always` (a debugging run); a trace kept
            # on failure has the actions, the console and the network with every page's body
            context.tracing.start(screenshots=False, snapshots=settings.trace == "always")
        for prefix in self._routes:
            self.context.route(re.compile("^" + re.escape(prefix)), self._answer)

    # ---- pages and what they did --------------------------------------------------------------
    @property
    def page(self) -> Page:
        """The scenario's main page (opened on first use)."""
        if self._main is None or self._main.is_closed():
            self._main = self.context.new_page()
        return self._main

    def route(self, prefix: str, html: str) -> None:
        """Answer every request under ``prefix`` with ``html`` (a page the harness serves as some site)."""
        if prefix not in self._routes:
            self.context.route(re.compile("^" + re.escape(prefix)), self._answer)
        self._routes[prefix] = html

    def _answer(self, route: Route) -> None:
        url = route.request.url
        prefix = max((p for p in self._routes if url.startswith(p)), key=len)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self._routes[prefix],
                      headers={"Cache-Control": "no-store"})

    def keep_pages(self, prefix: str) -> None:
        """Keep the HTML of every page the main frame loads under ``prefix``: a page that navigates away at
        once takes its body with it, so it is read on the way in (the browser's request goes out as is)."""
        def keep(route: Route) -> None:
            request = route.request
            if not (request.is_navigation_request() and request.frame.parent_frame is None):
                route.fallback()
                return
            try:
                answer = route.fetch(max_redirects=0)
            except PlaywrightError:
                route.fallback()
                return
            self._pages[request] = answer.text() if "html" in answer.headers.get("content-type", "") else ""
            route.fulfill(response=answer)

        self.context.route(re.compile("^" + re.escape(prefix)), keep)

    def page_text(self, seen: Seen) -> str:
        """The HTML of a main-frame page kept by ``keep_pages`` (empty for any other)."""
        return self._pages.get(seen.request, "")

    def _on_request(self, request: Request) -> None:
        seen = Seen(next(self._seq), request.url, request.method, request.resource_type, self._frame_kind(request),
                    request.is_navigation_request(), time.time(), request)
        self.seen.append(seen)
        self._by_request[request] = seen

    def _frame_kind(self, request: Request) -> str:
        try:
            frame: Frame = request.frame
        except PlaywrightError:  # a service worker's request has no frame
            return "worker"
        if frame.parent_frame is not None:
            return "sub"
        return "main" if frame.page == self._main else "popup"

    def _on_response(self, response: Response) -> None:
        seen = self._by_request.get(response.request)
        if seen is not None:
            seen.response = response

    def _on_failed(self, request: Request) -> None:
        seen = self._by_request.get(request)
        if seen is not None:
            seen.failure = request.failure or "failed"

    def mark(self) -> int:
        """A point in the request log: ``since(mark)`` gives what came after."""
        return len(self.seen)

    def since(self, mark: int) -> list[Seen]:
        return self.seen[mark:]

    def navigations(self, since: int = 0, frame: str = "main") -> list[Seen]:
        return [s for s in self.seen[since:] if s.navigation and s.frame == frame]

    # ---- actions ------------------------------------------------------------------------------
    def goto(self, url: str, page: Page | None = None) -> Page:
        """Navigate and wait for the load event; an unreachable target is TargetUnreachable."""
        page = page or self.page
        try:
            page.goto(url, wait_until="load")
        except PlaywrightTimeout:
            raise TargetUnreachable(f"{_short(url)} did not load within {self.settings.timeout:g} s") from None
        except PlaywrightError as exc:
            message = _first_line(exc)
            if "ERR_CONNECTION_REFUSED" in message or "ERR_NAME_NOT_RESOLVED" in message:
                raise TargetUnreachable(f"{_short(url)}: {message}") from None
            if "ERR_ABORTED" not in message:  # a navigation replaced by another one is no failure
                raise TargetError(f"{_short(url)}: {message}") from None
        return page

    def wait_for_url(self, accept: Callable[[str], bool], what: str, page: Page | None = None,
                     timeout: float | None = None) -> str:
        """Wait until the page's URL satisfies ``accept`` (a navigation event, never a poll)."""
        page = page or self.page
        if accept(page.url):
            return page.url
        try:
            page.wait_for_url(accept, wait_until="load", timeout=(timeout or self.settings.timeout) * 1000)
        except PlaywrightTimeout:
            raise TargetError(f"the browser never reached {what} within {timeout or self.settings.timeout:g} s; "
                              f"it is at {_short(page.url)}") from None
        return page.url

    def settle(self, page: Page | None = None) -> None:
        """Wait until the page stops loading anything (redirect chains, auto-posted forms), bounded."""
        page = page or self.page
        try:
            page.wait_for_load_state("networkidle")
        except PlaywrightTimeout:
            raise TargetError(f"the browser was still loading after {self.settings.timeout:g} s, at "
                              f"{_short(page.url)}") from None

    def fill_forms(self, rules: Sequence[FormRule], values: Mapping[str, str], done: Callable[[str], bool],
                   what: str, max_steps: int = 12, page: Page | None = None) -> str:
        """Fill and submit matching forms (rules as for the HTTP form walker) until the page's URL
        satisfies ``done``; pages without a matching form must navigate on their own."""
        page = page or self.page
        for _ in range(max_steps):
            reached = self._reached(done, page)
            if reached:
                return reached
            try:
                page.wait_for_load_state("load")
                form = self._matching_form(page, rules)
            except PlaywrightError:
                continue  # the page navigated while it was being read: look again at the new one
            if form is None:
                return self.wait_for_url(done, what, page)
            rule, selector = form
            try:
                with self._navigation(page):
                    for name, template in rule.fill.items():
                        page.fill(f"{selector} >> [name='{name}']", _expand(template, values))
                    submit = (f"{selector} >> [name='{rule.submit[0]}'][value='{rule.submit[1]}']" if rule.submit
                              else f"{selector} >> [type=submit], button:not([type])")
                    page.click(submit)
            except PlaywrightError as exc:
                # arriving where it should counts, even where nothing listens (a redirect URI the
                # harness only reads)
                reached = self._reached(done, page)
                if reached:
                    return reached
                raise TargetError(f"submitting the form at {_short(page.url)}: {_first_line(exc)}") from None
        raise TargetError(f"no end to the browser's forms after {max_steps} pages on the way to {what}; "
                          f"last at {_short(page.url)}")

    def _reached(self, done: Callable[[str], bool], page: Page) -> str | None:
        """The page's URL, or the last URL its main frame navigated to (loaded or not), if ``done``."""
        if done(page.url):
            return page.url
        last = next((s for s in reversed(self.seen) if s.navigation and s.frame in ("main", "popup")), None)
        return last.url if last is not None and done(last.url) else None

    @contextmanager
    def _navigation(self, page: Page) -> Iterator[None]:
        """Submitting a form: wait for the navigation it starts (bounded)."""
        try:
            with page.expect_navigation(wait_until="load"):
                yield
        except PlaywrightTimeout:
            raise TargetError(f"submitting the form at {_short(page.url)} led nowhere within "
                              f"{self.settings.timeout:g} s") from None

    def _matching_form(self, page: Page, rules: Sequence[FormRule]) -> tuple[FormRule, str] | None:
        forms: list[dict[str, Any]] = page.eval_on_selector_all(
            "form", """forms => forms.map((f, i) => ({index: i, action: f.action,
                names: Array.from(f.elements).map(e => e.name).filter(Boolean),
                buttons: Array.from(f.elements).filter(e => e.name && (e.type === 'submit' || e.tagName === 'BUTTON'))
                    .map(e => [e.name, e.value])}))""")
        for rule in rules:
            if rule.url and not re.search(rule.url, page.url):
                continue
            for form in forms:
                if not set(rule.fields) <= set(form["names"]):
                    continue
                if rule.action and not re.search(rule.action, form["action"]):
                    continue
                if rule.submit and list(rule.submit) not in form["buttons"]:
                    continue
                return rule, f"form >> nth={form['index']}"
        return None

    def act(self, click: str | None, script: str | None, page: Page | None = None) -> None:
        """Click a selector or run a script in the page (an app's own button or API)."""
        page = page or self.page
        try:
            if click:
                page.click(click)
            elif script:
                page.evaluate(script)
        except PlaywrightTimeout:
            raise TargetError(f"nothing to click at {click!r} on {_short(page.url)} within "
                              f"{self.settings.timeout:g} s") from None
        except PlaywrightError as exc:
            if "navigat" not in str(exc).lower():  # the click navigated away: expected
                raise TargetError(f"{click or script!r} on {_short(page.url)}: {_first_line(exc)}") from None

    def storage(self, page: Page | None = None) -> dict[str, dict[str, str]]:
        """The page's localStorage and sessionStorage (its origin's; partitioned by Chromium when it is a
        third-party frame)."""
        page = page or self.page
        try:
            result: dict[str, dict[str, str]] = page.evaluate(
                """() => { const dump = s => Object.fromEntries(Array.from({length: s.length}, (_, i) => s.key(i))
                               .map(k => [k, s.getItem(k)]));
                           return {local: dump(localStorage), session: dump(sessionStorage)}; }""")
        except PlaywrightError as exc:
            raise TargetError(f"cannot read the storage of {_short(page.url)}: {_first_line(exc)}") from None
        for area in result.values():
            for value in area.values():
                if len(value) >= 16:  # tokens kept by apps: never in a report in clear
                    for token in re.findall(r"[A-Za-z0-9_.~+/=-]{16,}", value):
                        REDACTOR.add_secret(token)
        return result

    def adopt_cookies(self, jar: CookieJar, url: str) -> None:
        """Hand the session an HTTP client holds at ``url``'s host to the browser (signed in over HTTP,
        logged out in Chromium)."""
        host = urlsplit(url).hostname or ""
        cookies: list[SetCookieParam] = [
            {"name": c.name, "value": c.value or "", "url": f"{origin(url)}{c.path or '/'}"}
            for c in jar if c.domain.lstrip(".") in (host, host + ".local")]
        if cookies:
            self.context.add_cookies(cookies)

    def cookie_dict(self, url: str) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.cookies(url)}

    def fetch(self, url: str) -> tuple[int, str]:
        """GET ``url`` with the browser's cookies, not following redirects: what the page answers first."""
        try:
            answer = self.context.request.get(url, max_redirects=0, timeout=self.timeout_ms)
            return answer.status, answer.text()
        except PlaywrightError as exc:
            raise TargetError(f"{_short(url)}: {_first_line(exc)}") from None

    def cookies(self, url: str) -> list[dict[str, Any]]:
        cookies = [dict(c) for c in self.context.cookies(url)]
        for cookie in cookies:
            REDACTOR.add_secret(str(cookie.get("value", "")))
        return cookies

    def screenshot(self, name: str, page: Page | None = None) -> None:
        """A picture of the page as the user saw it (attached at the end of the scenario)."""
        page = page or self.page
        try:
            self.screenshots.append((name, page.screenshot(type="png", full_page=False)))
        except PlaywrightError:
            pass  # a closed popup has nothing to show; the trace still has the last frame

    # ---- the end ------------------------------------------------------------------------------
    def finish(self, keep_trace: bool, attach: Callable[[str, bytes, str], None]) -> None:
        """Attach the screenshots and (when ``keep_trace``) the redacted trace, then close the context."""
        for name, png in self.screenshots:
            attach(f"screenshot: {name}", png, "image/png")
        try:
            if self.settings.trace != "never":
                keep = self.settings.trace == "always" or keep_trace
                if keep:
                    buffer = io.BytesIO()
                    path = Path(_temp_trace())
                    try:
                        self.context.tracing.stop(path=str(path))
                        buffer.write(browser_trace.redact(path.read_bytes()))
                    finally:
                        path.unlink(missing_ok=True)
                    attach("playwright trace (redacted; open with `npx playwright show-trace`)",
                           buffer.getvalue(), "application/zip")
                else:
                    self.context.tracing.stop()
        finally:
            try:
                self.context.close()
            except PlaywrightError:
                pass


def _temp_trace() -> str:
    with tempfile.NamedTemporaryFile(prefix="logout-trace-", suffix=".zip", delete=False) as handle:
        return handle.name


def _expand(template: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _first_line(exc: BaseException) -> str:
    return REDACTOR.text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def _short(url: str) -> str:
    return REDACTOR.text(url if len(url) <= 160 else url[:157] + "...")



def worker_pool(runtime: Runtime) -> BrowserPool:
    """The worker's browser (launched on first use, closed with the runtime)."""
    def launch() -> BrowserPool:
        pool = BrowserPool(runtime.target.browser)
        runtime.closers.append(pool.close)
        return pool

    pool: BrowserPool = runtime.cached("browser", launch)
    return pool


def session_for(ctx: Context) -> BrowserSession:
    """The scenario's browser session: opened on first use in a fresh context of the worker's browser,
    answering at the harness's callback base, finished (screenshots, trace on failure) with the scenario."""
    session: BrowserSession | None = ctx.vars.get("_browser")
    if session is None:
        pool = worker_pool(ctx.runtime)
        session = pool.session({ctx.target.callback_base + "/": HARNESS_PAGE})
        ctx.vars["_browser"] = session
        ctx.finishers.append(lambda status: session.finish(status in ("failed", "broken"), ctx.attach_bytes))
    return session
