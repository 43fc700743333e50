"""The mock's Auth0 dialect: /v2/logout ends the session, follows only allowed returnTo values (both lists, every matching rule), hands federated logouts to the upstream hook; its config; and each Auth0 fault."""

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import pytest
from idp_client import ALICE, BACK_CHANNEL, CONFIG, RP_BASIC, RP_POST, Browser, is_active
from receiver import Receiver, register_rp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mock_idp.auth0 import Auth0LogoutEndpoint
from mock_idp.backchannel import BackChannelLogout
from mock_idp.config import Auth0Settings, Client, ConfigError, MockConfig
from mock_idp.outbound import Outbound
from mock_idp.provider import Provider
from mock_idp.sessions import SESSION_COOKIE, Session

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]
APP = RP_BASIC.client_id  # https://app.example/bye, http://*.apps.example:8080/out
RP2 = RP_POST.client_id  # https://rp2.example
TENANT = None  # no client_id: https://tenant.example/home, https://*.tenant.example
UPSTREAM_LOGOUT = "http://upstream.test/logout"

# (client_id or None for the tenant's list, returnTo): followed exactly as given.
ALLOWED = [
    (APP, "https://app.example/bye"),
    (APP, "https://APP.Example/bye"),
    (APP, "HTTPS://app.example/bye"),
    (APP, "https://app.example:443/bye"),
    (APP, "https://app.example:/bye"),
    (APP, "https://app.example/bye?next=%2Fhome&x=1#top"),
    (APP, "https://app.example/bye#"),
    (APP, "http://a.apps.example:8080/out"),
    (APP, "http://x-1.apps.example:8080/out?q=1"),
    (RP2, "https://rp2.example"),
    (RP2, "https://rp2.example/"),
    (RP2, "https://rp2.example?x=1"),
    (TENANT, "https://tenant.example/home"),
    (TENANT, "https://www.tenant.example"),
    (TENANT, "https://www.tenant.example/?from=logout"),
]
# Refused: an error page, no redirect.
REFUSED = [
    # path: exact, raw, "" is "/"
    (APP, "https://app.example/bye/"),
    (APP, "https://app.example/byebye"),
    (APP, "https://app.example/Bye"),
    (APP, "https://app.example/%62ye"),
    (APP, "https://app.example/bye%2F.."),
    (APP, "https://app.example/bye/../bye"),
    (APP, "https://app.example"),
    (RP2, "https://rp2.example/x"),
    # scheme, port
    (APP, "http://app.example/bye"),
    (APP, "https://app.example:8443/bye"),
    (APP, "https://app.example:80/bye"),
    (APP, "https://app.example:99999/bye"),
    # host
    (APP, "https://app.example./bye"),
    (APP, "https://evilapp.example/bye"),
    (APP, "https://www.app.example/bye"),
    (APP, "https://app.example.evil.example/bye"),
    (RP2, "https://rp2.example.evil.example/"),
    (APP, "https://app%2eexample/bye"),
    # userinfo, and what decodes to it
    (APP, "https://app.example@evil.example/bye"),
    (APP, "https://user@app.example/bye"),
    (APP, "https://app.example%2Fbye%3F@evil.example/"),
    (APP, "https://app.example%40evil.example/bye"),
    # not an absolute http(s) URL
    (APP, "//app.example/bye"),
    (APP, "https:app.example/bye"),
    (APP, "https:/app.example/bye"),
    (APP, "https:///app.example/bye"),
    (APP, "app.example/bye"),
    (APP, "/bye"),
    (APP, "javascript:alert(1)//https://app.example/bye"),
    (APP, "data:text/html,https://app.example/bye"),
    (APP, "ftp://app.example/bye"),
    # what a browser or urlsplit reads otherwise
    (APP, "https://app.example\\@evil.example/bye"),
    (APP, "https:\\\\app.example/bye"),
    (APP, "https://app.example/bye\t"),
    (APP, "https://app.example/b\nye"),
    (APP, " https://app.example/bye"),
    (APP, "https://app.example/bye\x00"),
    (APP, "https://app.example/bye\u00e9"),
    # wildcard: one label of letters, digits, hyphens; same scheme, port, path
    (APP, "http://apps.example:8080/out"),
    (APP, "http://a.b.apps.example:8080/out"),
    (APP, "http://evil.example.apps.example:8080/out"),
    (APP, "http://a_b.apps.example:8080/out"),
    (APP, "http://.apps.example:8080/out"),
    (APP, "https://a.apps.example:8080/out"),
    (APP, "https://a.apps.example/out"),
    (APP, "http://a.apps.example/out"),
    (APP, "http://a.apps.example:9090/out"),
    (APP, "http://a.apps.example:8080/out/"),
    (APP, "http://a.apps.example:8080/"),
    (TENANT, "https://a.b.tenant.example/"),
    (TENANT, "http://www.tenant.example/"),
    # the other list
    (APP, "https://tenant.example/home"),
    (APP, "https://rp2.example"),
    (TENANT, "https://app.example/bye"),
    (TENANT, "https://rp2.example"),
    (TENANT, "https://tenant.example/"),
]


def v2_logout(
    url: str, client_id: str | None, return_to: str, browser: Browser | None = None
) -> httpx.Response:
    params = {"returnTo": return_to, **({"client_id": client_id} if client_id else {})}
    if browser is not None:
        return browser.auth0_logout(**params)
    return BACK_CHANNEL.get(url + "/v2/logout", params=params)


def assert_followed(answer: httpx.Response, return_to: str) -> None:
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"] == return_to


def assert_refused(answer: httpx.Response, return_to: str) -> None:
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "Allowed Logout URLs" in answer.text
    # Nothing on the page may take the browser anywhere.
    assert "<a " not in answer.text and "refresh" not in answer.text
    assert "<script" not in answer.text and return_to.strip() not in answer.text


@pytest.fixture
def signed_in(mock_with: MockWith, new_browser: NewBrowser) -> Callable[..., Browser]:
    def on(*faults: str) -> Browser:
        browser = new_browser(mock_with(*faults))
        browser.sign_in()
        return browser

    return on


# The endpoint


@pytest.mark.parametrize(("client_id", "return_to"), ALLOWED)
def test_an_allowed_return_to_is_followed_exactly(
    mock_with: MockWith, client_id: str | None, return_to: str
) -> None:
    assert_followed(v2_logout(mock_with(), client_id, return_to), return_to)


@pytest.mark.parametrize(("client_id", "return_to"), REFUSED)
def test_any_other_return_to_gets_an_error_page(
    mock_with: MockWith, client_id: str | None, return_to: str
) -> None:
    assert_refused(v2_logout(mock_with(), client_id, return_to), return_to)


def test_logout_ends_the_session_and_its_tokens_then_redirects(
    mock_with: MockWith, new_browser: NewBrowser
) -> None:
    browser = new_browser(mock_with())
    tokens = browser.sign_in()
    answer = v2_logout(browser.base_url, APP, "https://app.example/bye", browser)
    assert_followed(answer, "https://app.example/bye")
    assert f'{SESSION_COOKIE}=""' in answer.headers["set-cookie"]
    assert not browser.has_session()
    assert not is_active(browser.base_url, tokens.access_token)


def test_logout_tells_the_rps_by_back_channel_before_the_answer(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with()
    rp = register_rp(url, receiver, allowed_logout_urls="https://rp.example/bye")
    browser = new_browser(url)
    browser.sign_in(rp.client)
    answer = v2_logout(url, rp.client.client_id, "https://rp.example/bye", browser)
    assert_followed(answer, "https://rp.example/bye")
    # Sent before the redirect: already there.
    assert len(receiver.at(rp.path)) == 1


def test_without_return_to_a_signed_out_page(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in()
    answer = browser.auth0_logout(client_id=APP)
    assert answer.status_code == 200 and "You are signed out" in answer.text
    assert not browser.has_session()


def test_without_a_session_logout_is_no_error(mock_with: MockWith, new_browser: NewBrowser) -> None:
    browser = new_browser(mock_with())
    assert browser.auth0_logout().status_code == 200
    assert_followed(
        v2_logout(browser.base_url, TENANT, "https://tenant.example/home", browser),
        "https://tenant.example/home",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "nobody", "returnTo": "https://tenant.example/home"},
        {"client_id": APP, "returnTo": "https://evil.example/"},
        {"returnTo": "https://evil.example/"},
    ],
)
def test_a_refused_request_ends_nothing(
    signed_in: Callable[..., Browser], params: dict[str, str]
) -> None:
    browser = signed_in()
    answer = browser.auth0_logout(**params)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "set-cookie" not in answer.headers
    assert browser.has_session()


def test_a_repeated_parameter_is_refused(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in()
    answer = browser.http.get(
        "/v2/logout?returnTo=https%3A%2F%2Ftenant.example%2Fhome&returnTo=https%3A%2F%2Fevil.test"
    )
    assert answer.status_code == 400 and "location" not in answer.headers
    assert browser.has_session()


@pytest.mark.parametrize("federated", ["federated", "federated=", "federated=1"])
def test_federated_without_an_upstream_answers_as_without(
    signed_in: Callable[..., Browser], federated: str
) -> None:
    browser = signed_in()
    answer = browser.http.get(
        f"/v2/logout?{federated}&"
        + urlencode({"returnTo": "https://app.example/bye", "client_id": APP})
    )
    assert_followed(answer, "https://app.example/bye")
    assert not browser.has_session()


# federated, with a stand-in for the upstream chaining


@dataclass
class FakeFederation:
    """Answers log_out_upstream as told, and records its calls as (sid, return_to)."""

    answer: Response | None
    calls: list[tuple[str, str | None]] = field(default_factory=list)

    async def log_out_upstream(
        self, request: Request, ended_session: Session, return_to: str | None
    ) -> Response | None:
        self.calls.append((ended_session.sid, return_to))
        return self.answer


@dataclass
class Federated:
    """The endpoint alone, in-process, with a FakeFederation where the upstream chaining puts its
    own, and one browser's OP session."""

    op: Provider
    app: Starlette
    session: Session
    federation: FakeFederation

    def get(self, target: str) -> httpx.Response:
        return asyncio.run(self._get(target))

    async def _get(self, target: str) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://op.test",
            cookies={SESSION_COOKIE: self.session.handle},
        ) as http:
            return await http.get(target)


def federated_on(answer: Response | None, *faults: str) -> Federated:
    """The endpoint with a FakeFederation that answers this, and a browser signed in."""
    op = Provider(dataclasses.replace(CONFIG, faults=frozenset(faults)), "http://op.test")
    federation = FakeFederation(answer)
    # Where create_app puts the real one.
    op.federation = federation
    endpoint = Auth0LogoutEndpoint(op, BackChannelLogout(op, Outbound()))
    app = Starlette(routes=[Route("/v2/logout", endpoint.logout)])
    return Federated(op, app, op.sessions.create(ALICE, int(time.time())), federation)


def test_federated_hands_the_browser_to_the_upstream() -> None:
    there = federated_on(RedirectResponse(UPSTREAM_LOGOUT, 302))
    answer = there.get(
        "/v2/logout?federated&"
        + urlencode({"returnTo": "https://app.example/bye", "client_id": APP})
    )
    assert answer.status_code == 302 and answer.headers["location"] == UPSTREAM_LOGOUT
    assert there.federation.calls == [(there.session.sid, "https://app.example/bye")]
    assert not there.op.sessions.alive(there.session)
    assert f'{SESSION_COOKIE}=""' in answer.headers["set-cookie"]


def test_federated_without_return_to_tells_the_upstream_none() -> None:
    there = federated_on(None)
    answer = there.get("/v2/logout?federated")
    assert answer.status_code == 200 and "You are signed out" in answer.text
    assert there.federation.calls == [(there.session.sid, None)]


def test_without_federated_the_upstream_is_left_alone() -> None:
    there = federated_on(RedirectResponse(UPSTREAM_LOGOUT, 302))
    answer = there.get("/v2/logout?returnTo=https%3A%2F%2Ftenant.example%2Fhome")
    assert answer.headers["location"] == "https://tenant.example/home"
    assert there.federation.calls == []
    assert not there.op.sessions.alive(there.session)


def test_a_refused_federated_logout_reaches_no_upstream() -> None:
    there = federated_on(RedirectResponse(UPSTREAM_LOGOUT, 302))
    answer = there.get("/v2/logout?federated&returnTo=https%3A%2F%2Fevil.example%2F")
    assert answer.status_code == 400 and there.federation.calls == []
    assert there.op.sessions.alive(there.session)


# Config


@pytest.mark.parametrize(
    ("urls", "complaint"),
    [
        ("*.example.com", "has no scheme: write http://*.example.com"),
        ("https://ok.example, app.example/bye", "'app.example/bye' has no scheme"),
        ("ftp://app.example/", "must be http or https"),
        ("https://a.*.example/", "whole first label"),
        ("https://*./", "has no host"),
        ("https:///bye", "has no host"),
        ("https://*/", "whole first label"),
        ("https://app.example/bye?x=1", "query or fragment"),
        ("https://app.example/#x", "query or fragment"),
        ("https://me@app.example/", "userinfo"),
        ("https://app.example:99999/", "is not a URL"),
        ("https://app.example/b ye", "whitespace"),
        ("https://app.example\\bye", "backslash"),
    ],
)
def test_config_refuses_what_auth0_refuses(urls: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match="allowed_logout_urls") as client_error:
        dataclasses.replace(RP_BASIC, allowed_logout_urls=urls)
    assert complaint in str(client_error.value)
    with pytest.raises(ConfigError, match="mock config: auth0: allowed_logout_urls") as tenant:
        Auth0Settings(urls)
    assert complaint in str(tenant.value)


def test_config_reads_and_writes_both_lists() -> None:
    config = MockConfig.from_json(CONFIG.to_json())
    assert config.auth0 == CONFIG.auth0
    assert config.client(APP) == RP_BASIC
    minimal = MockConfig.from_json('{"clients": [], "users": [], "auth0": {}}')
    assert minimal.auth0 == Auth0Settings("")


@pytest.mark.parametrize(
    ("auth0", "complaint"),
    [
        ("[]", "auth0 must be an object"),
        ('{"allowed_logout_urls": ["https://a.example"]}', "auth0.allowed_logout_urls has the"),
        ('{"urls": ""}', "unknown field 'urls'"),
        ('{"allowed_logout_urls": "a.example"}', "has no scheme"),
    ],
)
def test_config_auth0_mistakes(auth0: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        MockConfig.from_json(f'{{"clients": [], "users": [], "auth0": {auth0}}}')


def test_registration_refuses_a_list_auth0_refuses(mock_with: MockWith) -> None:
    client = Client("rp-bad-list", "s", ["http://rp.test/cb"])
    body = {**dataclasses.asdict(client), "allowed_logout_urls": "*.example.com"}
    answer = BACK_CHANNEL.post(mock_with() + "/_mock/oidc/clients", json=body)
    assert answer.status_code == 400 and "has no scheme" in answer.json()["error"]


# Faults


def test_fault_auth0_prefix_match(mock_with: MockWith) -> None:
    url = mock_with("auth0-prefix-match")
    for value in ("https://rp2.example.evil.example/", "https://rp2.example/x"):
        assert_followed(v2_logout(url, RP2, value), value)
    assert_refused(v2_logout(url, RP2, "https://evil.example/"), "https://evil.example/")


def test_fault_auth0_host_suffix_match(mock_with: MockWith) -> None:
    url = mock_with("auth0-host-suffix-match")
    value = "https://evilapp.example/bye"
    assert_followed(v2_logout(url, APP, value), value)
    other = "https://app.example.evil/bye"
    assert_refused(v2_logout(url, APP, other), other)


def test_fault_auth0_userinfo_confused(mock_with: MockWith) -> None:
    url = mock_with("auth0-userinfo-confused")
    value = "https://app.example@evil.example/bye"
    assert_followed(v2_logout(url, APP, value), value)


@pytest.mark.parametrize("value", ["//app.example/bye", "https:app.example/bye"])
def test_fault_auth0_scheme_relative(mock_with: MockWith, value: str) -> None:
    url = mock_with("auth0-scheme-relative")
    # Through the transport alone: httpx's client refuses to parse the Location https:host/path.
    with httpx.HTTPTransport() as transport:
        params = {"returnTo": value, "client_id": APP}
        answer = transport.handle_request(httpx.Request("GET", url + "/v2/logout", params=params))
        answer.read()
    assert_followed(answer, value)
    assert_refused(v2_logout(url, APP, "//evil.example/bye"), "//evil.example/bye")


@pytest.mark.parametrize(
    "value", ["https://app.example%2Fbye%3F@evil.example/", "https://app.example/%62ye"]
)
def test_fault_auth0_decodes_returnTo(mock_with: MockWith, value: str) -> None:
    assert_followed(v2_logout(mock_with("auth0-decodes-returnTo"), APP, value), value)


def test_fault_auth0_wildcard_crosses_dots(mock_with: MockWith) -> None:
    url = mock_with("auth0-wildcard-crosses-dots")
    value = "http://evil.example.apps.example:8080/out"
    assert_followed(v2_logout(url, APP, value), value)
    bare = "http://apps.example:8080/out"
    assert_refused(v2_logout(url, APP, bare), bare)


@pytest.mark.parametrize("value", ["https://a.apps.example/out", "http://a.apps.example:9090/out"])
def test_fault_auth0_wildcard_any_scheme(mock_with: MockWith, value: str) -> None:
    url = mock_with("auth0-wildcard-any-scheme")
    assert_followed(v2_logout(url, APP, value), value)
    other_port = "https://app.example:8443/bye"
    assert_refused(v2_logout(url, APP, other_port), other_port)


@pytest.mark.parametrize("value", ["https://app.example/bye?x=1", "https://app.example/bye#top"])
def test_fault_auth0_query_compared(mock_with: MockWith, value: str) -> None:
    url = mock_with("auth0-query-compared")
    assert v2_logout(url, APP, value).status_code == 400
    assert_followed(v2_logout(url, APP, "https://app.example/bye"), "https://app.example/bye")


def test_fault_auth0_tenant_list_with_client_id(mock_with: MockWith) -> None:
    url = mock_with("auth0-tenant-list-with-client-id")
    value = "https://tenant.example/home"
    assert_followed(v2_logout(url, APP, value), value)


def test_fault_auth0_client_list_without_client_id(mock_with: MockWith) -> None:
    url = mock_with("auth0-client-list-without-client-id")
    assert_followed(v2_logout(url, TENANT, "https://rp2.example"), "https://rp2.example")
    value = "https://tenant.example/home"
    assert_followed(v2_logout(url, TENANT, value), value)


def test_fault_auth0_session_kept(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in("auth0-session-kept")
    answer = v2_logout(browser.base_url, APP, "https://app.example/bye", browser)
    assert_followed(answer, "https://app.example/bye")
    assert "set-cookie" not in answer.headers
    assert browser.has_session()


def test_fault_auth0_refused_redirect_page(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in("auth0-refused-redirect-page")
    answer = v2_logout(browser.base_url, APP, "https://evil.example/?a=1&b=<2>", browser)
    assert answer.status_code == 400 and "location" not in answer.headers
    meta = '<meta http-equiv="refresh" content="0;url=https://evil.example/?a=1&amp;b=&lt;2&gt;">'
    assert meta in answer.text
    assert 'location.replace("https://evil.example/?a=1&b=\\u003c2>")' in answer.text
    assert browser.has_session()


def test_fault_auth0_federated_ignored() -> None:
    there = federated_on(RedirectResponse(UPSTREAM_LOGOUT, 302), "auth0-federated-ignored")
    answer = there.get("/v2/logout?federated&returnTo=https%3A%2F%2Ftenant.example%2Fhome")
    assert answer.headers["location"] == "https://tenant.example/home"
    assert there.federation.calls == []
    assert not there.op.sessions.alive(there.session)
