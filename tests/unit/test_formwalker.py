"""Tests of harness.formwalker against a scripted IdP on httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from harness.errors import ConfigError, TargetError
from harness.formwalker import FormRule, resume, walk

IDP = "https://idp.example"
RP = "https://rp.example"

LOGIN_PAGE = (
    '<html><body><form method="post" action="/login">'
    '<input type="hidden" name="interaction" value="i-42">'
    '<input type="text" name="username"><input type="password" name="password">'
    '<button type="submit">Sign in</button></form></body></html>'
)
CONSENT_PAGE = (
    '<form method="post" action="/consent/confirm"><button type="submit">Continue</button></form>'
)
REFRESH_PAGE = '<html><head><meta http-equiv="refresh" content="0;url=/resume"></head></html>'
# the bundled mock: buttons inside the form
MOCK_LOGOUT = (
    '<form method="post" action="/end-session/confirm">'
    '<input type="hidden" name="xsrf" value="x-1"><input type="hidden" name="logout_id" value="l-9">'
    '<button type="submit" name="logout" value="yes">Yes, sign me out</button>'
    '<button type="submit" name="logout" value="no">No, stay signed in</button></form>'
)
# node oidc-provider: buttons outside the form, tied to it by form="id"
NODE_LOGOUT = (
    '<form id="op.logoutForm" method="post" action="/end-session/confirm">'
    '<input type="hidden" name="xsrf" value="x-2"></form>'
    '<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes</button>'
    '<button type="submit" form="op.logoutForm">No</button>'
)

LOGIN = FormRule(
    "login",
    fields=("username", "password"),
    fill={"username": "{username}", "password": "{password}"},
)
CONSENT = FormRule("consent", action=r"/consent/confirm$")
CONFIRM = FormRule("confirm-logout", fields=("xsrf",), submit=("logout", "yes"))
VALUES = {"username": "alice", "password": "wonderland"}

Handler = Callable[[httpx.Request], httpx.Response]


class FakeIdp:
    """Serves pages by path and keeps every request it got."""

    def __init__(self, routes: dict[tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        request.read()
        handler = self.routes.get((request.method, request.url.path))
        return handler(request) if handler else httpx.Response(404, text="not found")

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def html(page: str, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, html=page)


def redirect(location: str, status: int = 302) -> Handler:
    return lambda request: httpx.Response(status, headers={"Location": location})


def form_of(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def login_idp() -> FakeIdp:
    def check_login(request: httpx.Request) -> httpx.Response:
        form = form_of(request)
        if form == {"interaction": ["i-42"], "username": ["alice"], "password": ["wonderland"]}:
            return httpx.Response(
                303, headers={"Location": "/consent", "Set-Cookie": "sid=s1; Path=/"}
            )
        return httpx.Response(200, html=LOGIN_PAGE)

    def resume_page(request: httpx.Request) -> httpx.Response:
        assert request.headers["cookie"] == "sid=s1"
        return httpx.Response(302, headers={"Location": f"{RP}/cb?code=c-1&state=st"})

    return FakeIdp(
        {
            ("GET", "/authorize"): redirect("/login"),
            ("GET", "/login"): html(LOGIN_PAGE),
            ("POST", "/login"): check_login,
            ("GET", "/consent"): html(CONSENT_PAGE),
            ("POST", "/consent/confirm"): html(REFRESH_PAGE),
            ("GET", "/resume"): resume_page,
        }
    )


def test_login_consent_refresh_and_external_redirect() -> None:
    idp = login_idp()
    result = walk(
        idp.client(), f"{IDP}/authorize?client_id=rp", [LOGIN, CONSENT], VALUES, stay_on=[IDP]
    )
    assert result.external_redirect == f"{RP}/cb?code=c-1&state=st"
    assert result.submitted == ["login", "consent"]
    assert result.stopped_at is None
    assert result.final_response.status_code == 302
    assert result.final_url == f"{IDP}/resume"
    assert result.pages == [
        f"{IDP}/authorize?client_id=rp",
        f"{IDP}/login",
        f"{IDP}/login",
        f"{IDP}/consent",
        f"{IDP}/consent/confirm",
        f"{IDP}/resume",
    ]
    login_post = idp.requests[2]
    assert login_post.headers["content-type"] == "application/x-www-form-urlencoded"
    assert login_post.headers["origin"] == IDP
    # the consent form has no fields and an unnamed button: an empty body
    assert idp.requests[4].content == b""


def test_wrong_password_exceeds_max_steps() -> None:
    idp = login_idp()
    with pytest.raises(TargetError) as caught:
        walk(
            idp.client(),
            f"{IDP}/login",
            [LOGIN],
            {**VALUES, "password": "nope"},
            stay_on=[IDP],
            max_steps=4,
        )
    message = str(caught.value)
    assert message.startswith(f"the form walk did not end within 4 steps; last URL {IDP}/login;")
    assert "forms submitted: login, login, login, login" in message
    assert "keeps coming back" in message
    assert len(idp.requests) == 4


def test_redirect_loop_exceeds_max_steps() -> None:
    idp = FakeIdp({("GET", "/a"): redirect("/b"), ("GET", "/b"): redirect(f"{IDP}/a")})
    with pytest.raises(
        TargetError, match="within 5 steps; last URL https://idp.example/b; forms submitted: none$"
    ):
        walk(idp.client(), f"{IDP}/a", [], {}, stay_on=[IDP], max_steps=5)
    assert len(idp.requests) == 5


def test_stay_on_compares_origins() -> None:
    # same host, other port: another origin
    idp = FakeIdp({("GET", "/a"): redirect("https://idp.example:8443/b")})
    result = walk(idp.client(), f"{IDP}/a", [], {}, stay_on=[f"{IDP}:443/ignored/path"])
    assert result.external_redirect == "https://idp.example:8443/b"
    assert len(idp.requests) == 1


@pytest.mark.parametrize("page", [MOCK_LOGOUT, NODE_LOGOUT])
def test_logout_confirmation_presses_the_named_button(page: str) -> None:
    idp = FakeIdp(
        {
            ("GET", "/end-session"): html(page),
            ("POST", "/end-session/confirm"): redirect(f"{RP}/logged-out", status=303),
        }
    )
    result = walk(idp.client(), f"{IDP}/end-session?state=1", [CONFIRM], {}, stay_on=[IDP])
    assert result.submitted == ["confirm-logout"]
    assert result.external_redirect == f"{RP}/logged-out"
    form = form_of(idp.requests[1])
    assert form["logout"] == ["yes"]
    assert form["xsrf"] in (["x-1"], ["x-2"])


def test_rule_with_a_submit_button_the_form_lacks_does_not_match() -> None:
    idp = FakeIdp({("GET", "/end-session"): html(MOCK_LOGOUT)})
    rule = FormRule("confirm", fields=("xsrf",), submit=("logout", "maybe"))
    result = walk(idp.client(), f"{IDP}/end-session", [rule], {}, stay_on=[IDP])
    assert result.submitted == []
    assert result.final_response.status_code == 200


def test_stop_before_then_resume() -> None:
    idp = FakeIdp(
        {
            ("GET", "/end-session"): html(NODE_LOGOUT),
            ("POST", "/end-session/confirm"): redirect("/done"),
            ("GET", "/done"): html("<p>Signed out</p>"),
        }
    )
    client = idp.client()
    stopped = walk(
        client, f"{IDP}/end-session", [CONFIRM], {}, stay_on=[IDP], stop_before=["confirm-logout"]
    )
    assert stopped.stopped_at == "confirm-logout"
    assert stopped.submitted == []
    assert stopped.final_url == f"{IDP}/end-session"
    assert len(idp.requests) == 1
    done = resume(client, stopped, [CONFIRM], {}, stay_on=[IDP])
    assert done.submitted == ["confirm-logout"]
    assert done.pages == [f"{IDP}/end-session/confirm", f"{IDP}/done"]
    assert done.external_redirect is None
    assert "Signed out" in done.final_response.text
    with pytest.raises(ValueError, match="stopped before a form"):
        resume(client, done, [CONFIRM], {}, stay_on=[IDP])


def test_page_without_matching_form_or_html_ends_the_walk() -> None:
    idp = FakeIdp({("GET", "/json"): lambda r: httpx.Response(200, json={"a": 1})})
    result = walk(idp.client(), httpx.Request("GET", f"{IDP}/json"), [LOGIN], VALUES, stay_on=[IDP])
    assert result.submitted == [] and result.final_response.json() == {"a": 1}


def test_rules_are_tried_in_order_with_url_and_action() -> None:
    page = (
        '<form action="/a" method="post"><input name="q"></form>'
        '<form action="/b" method="post"><input name="q"></form>'
    )
    idp = FakeIdp(
        {("GET", "/p"): html(page), ("POST", "/b"): html("ok"), ("POST", "/a"): html("ok")}
    )
    rules = [
        FormRule("elsewhere", fields=("q",), url=r"/other$"),
        FormRule("b", fields=("q",), action=r"/b$"),
        FormRule("any", fields=("q",)),
    ]
    result = walk(idp.client(), f"{IDP}/p", rules, {}, stay_on=[IDP])
    assert result.submitted == ["b"]
    assert idp.requests[1].url.path == "/b"


def test_get_form_and_controls() -> None:
    page = """
    <html><head><base href="/base/"></head><body>
    <form action="search?old=1#frag">
      <input type="hidden" name="h" value="a&amp;b">
      <input type="checkbox" name="remember" value="1">
      <input type="checkbox" name="terms" checked>
      <input type="radio" name="r" value="x"><input type="radio" name="r" value="y" checked>
      <input name="off" value="no" disabled>
      <select name="lang"><option>en<option selected value="fr">French</select>
      <textarea name="note">hi there</textarea>
      <input type="file" name="upload">
      <input type="reset" name="reset" value="r">
      <input type="submit" name="go" value="Go">
    </form></body></html>
    """
    idp = FakeIdp({("GET", "/p"): html(page), ("GET", "/base/search"): html("done")})
    rule = FormRule("search", fields=("h", "note"), fill={"note": "for {who}", "extra": "{who}"})
    result = walk(idp.client(), f"{IDP}/p", [rule], {"who": "bob"}, stay_on=[IDP])
    assert result.submitted == ["search"]
    sent = idp.requests[1].url
    assert sent.path == "/base/search"
    assert parse_qs(sent.query.decode()) == {
        "h": ["a&b"],
        "terms": ["on"],
        "r": ["y"],
        "lang": ["fr"],
        "note": ["for bob"],
        "extra": ["bob"],
        "go": ["Go"],
    }


def test_307_repeats_the_post() -> None:
    idp = FakeIdp(
        {
            ("GET", "/p"): html(
                '<form method="post" action="/old"><input name="k" value="v"></form>'
            ),
            ("POST", "/old"): redirect("/new", status=307),
            ("POST", "/new"): html("ok"),
        }
    )
    walk(idp.client(), f"{IDP}/p", [FormRule("f", fields=("k",))], {}, stay_on=[IDP])
    assert [(r.method, r.url.path, r.content) for r in idp.requests[1:]] == [
        ("POST", "/old", b"k=v"),
        ("POST", "/new", b"k=v"),
    ]


def test_external_meta_refresh_stops() -> None:
    page = "<meta http-equiv='Refresh' content=\"0; URL='https://rp.example/after'\">"
    idp = FakeIdp({("GET", "/p"): html(page)})
    result = walk(idp.client(), f"{IDP}/p", [], {}, stay_on=[IDP])
    assert result.external_redirect == f"{RP}/after"


def test_missing_value_is_a_config_error() -> None:
    idp = login_idp()
    with pytest.raises(ConfigError, match=r"form rule 'login': '\{password\}' uses 'password'"):
        walk(idp.client(), f"{IDP}/login", [LOGIN], {"username": "alice"}, stay_on=[IDP])


def test_bad_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="form rule 'x': action is not a regular expression"):
        FormRule("x", action="(unclosed")
