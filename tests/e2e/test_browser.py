"""The browser actor on Debian's Chromium: forms filled like the HTTP walker's, the harness's own URLs
answered by the browser, clear errors for a dead or slow target, and traces with no secret in clear."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from harness.browser import BrowserPool, BrowserSession
from harness.errors import TargetError, TargetUnreachable
from harness.formwalker import FormRule
from harness.redact import REDACTOR
from harness.target import BrowserSettings

from .conftest import ROOT, load_summary, output, run_suite

PASSWORD = "Trace-Secret-Password!7"
COOKIE = "cookie-value-that-is-secret-123"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"
XSRF = "xsrf-hidden-value-0123456789"
LOGIN = FormRule("login", ("username", "password"), fill={"username": "{username}", "password": "{password}"})
APP = "http://app.harness.test"
MOCK_TARGET = ROOT / "fixtures" / "targets" / "mock.yaml"


@pytest.fixture(scope="module")
def pool() -> Iterator[BrowserPool]:
    pool = BrowserPool(BrowserSettings(timeout=5, trace="on-failure"))
    yield pool
    pool.close()


@pytest.fixture
def browser(pool: BrowserPool) -> Iterator[BrowserSession]:
    session = pool.session({
        f"{APP}/login": f"""<form method="post" action="{APP}/done"><input name="username">
            <input type="password" name="password"><input type="hidden" name="xsrf" value="{XSRF}">
            <button type="submit">Sign in</button></form>""",
        f"{APP}/script-login": f"""<div id="here"></div><script>document.getElementById('here').innerHTML =
            '<form method="post" action="{APP}/done"><input name="username"><input type="password" name="password">'
            + '<button type="submit">Sign in</button></form>';</script>""",
        f"{APP}/done": f"<p>welcome</p><script>document.cookie = 'session={COOKIE}'; "
                       f"localStorage.setItem('token', '{JWT}')</script>",
    })
    yield session
    session.finish(False, lambda *_: None)


def test_forms_are_filled_until_done(browser: BrowserSession) -> None:
    browser.goto(f"{APP}/login")
    url = browser.fill_forms([LOGIN], {"username": "alice", "password": PASSWORD}, lambda u: u.endswith("/done"),
                             "the app")
    assert url == f"{APP}/done"
    post = next(s for s in browser.seen if s.method == "POST")
    assert post.frame == "main" and post.navigation and post.request.post_data is not None
    assert "alice" in post.request.post_data


def test_a_form_built_by_script_is_filled_too(browser: BrowserSession) -> None:
    """What the HTTP walker cannot do: a login page whose form only exists once its script ran."""
    browser.goto(f"{APP}/script-login")
    assert browser.fill_forms([LOGIN], {"username": "bob", "password": PASSWORD}, lambda u: u.endswith("/done"),
                              "the app").endswith("/done")


def test_a_page_without_a_matching_form_must_move_on_its_own(pool: BrowserPool) -> None:
    session = pool.session({f"{APP}/stuck": "<p>nothing to fill</p>"})
    try:
        session.goto(f"{APP}/stuck")
        with pytest.raises(TargetError, match="never reached the app"):
            session.fill_forms([LOGIN], {}, lambda u: u.endswith("/done"), "the app")
    finally:
        session.finish(False, lambda *_: None)


def test_a_dead_target_is_unreachable(browser: BrowserSession) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(TargetUnreachable, match="ERR_CONNECTION_REFUSED"):
        browser.goto(f"http://127.0.0.1:{port}/")


def test_a_slow_target_is_bounded(pool: BrowserPool) -> None:
    """A server that accepts and never answers: the navigation ends at the bound, with a clear error."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        session = BrowserPool.session.__get__(pool)()
        session.context.set_default_navigation_timeout(800)
        session.settings = BrowserSettings(timeout=0.8)
        try:
            with pytest.raises(TargetUnreachable, match="did not load within"):
                session.goto(f"http://127.0.0.1:{silent.getsockname()[1]}/")
        finally:
            session.finish(False, lambda *_: None)


def test_the_trace_keeps_no_secret_in_clear(pool: BrowserPool) -> None:
    REDACTOR.add_secret(PASSWORD)
    session = pool.session({f"{APP}/login": f"""<form method="post" action="{APP}/done"><input name="username">
            <input type="password" name="password"><input type="hidden" name="xsrf" value="{XSRF}">
            <button type="submit">Sign in</button></form>""",
                            f"{APP}/again": "<p>again</p>"})
    session.context.route(f"{APP}/done", lambda route: route.fulfill(
        body=f"<p>welcome {JWT}</p>", content_type="text/html", headers={"Set-Cookie": f"session={COOKIE}"}))
    kept: dict[str, bytes] = {}
    session.goto(f"{APP}/login")
    session.fill_forms([LOGIN], {"username": "alice", "password": PASSWORD}, lambda u: u.endswith("/done"), "app")
    session.goto(f"{APP}/again")  # sends the cookie
    session.screenshot("final")
    session.finish(True, lambda name, body, mime: kept.__setitem__(mime, body))
    assert kept["image/png"].startswith(b"\x89PNG")
    with zipfile.ZipFile(io.BytesIO(kept["application/zip"])) as trace:
        names = trace.namelist()
        text = b"".join(trace.read(n) for n in names).decode("utf-8", "replace")
    assert any(n.endswith(".network") for n in names) and any(n.endswith(".trace") for n in names)
    for secret in (PASSWORD, COOKIE, JWT, XSRF):
        assert secret not in text, f"{secret[:8]}... in the trace"
    assert "«masked sha256:" in text


@pytest.fixture
def script_login_target(tmp_path: Path) -> Iterator[Callable[[bool], Path]]:
    """The mock target with a login page only a browser can fill, with or without ``browser.steps``
    (written next to mock.yaml, whose relative paths it keeps)."""
    written: list[Path] = []

    def make(with_browser: bool) -> Path:
        data = yaml.safe_load(MOCK_TARGET.read_text("utf-8"))
        data["mock_idp"]["login_page"] = "script"
        if with_browser:
            data["browser"] = {"steps": ["login"]}
        path = MOCK_TARGET.with_name(f".script-login-{tmp_path.name}-{with_browser}.yaml")
        path.write_text(yaml.safe_dump(data), "utf-8")
        written.append(path)
        return path

    yield make
    for path in written:
        path.unlink(missing_ok=True)


def test_the_target_file_says_which_steps_need_a_browser(tmp_path: Path,
                                                          script_login_target: Callable[[bool], Path]) -> None:
    """An IdP whose login page is built by JavaScript: the HTTP walker cannot sign in (the scenario is
    broken, saying so); with ``browser: {steps: [login]}`` in the target file, Chromium signs in, no code."""
    without = run_suite(tmp_path / "http", "--target", script_login_target(False),
                        "--profile", "oidc-rp-initiated-op", "-k", "full-logout")
    assert without.returncode == 2, output(without)
    assert "broken" in json.dumps(load_summary(tmp_path / "http")["scenarios"])
    with_browser = run_suite(tmp_path / "browser", "--target", script_login_target(True),
                             "--profile", "oidc-rp-initiated-op", "-k", "full-logout")
    assert with_browser.returncode == 0, output(with_browser)
    assert {s["status"] for s in load_summary(tmp_path / "browser")["scenarios"]} == {"passed"}
