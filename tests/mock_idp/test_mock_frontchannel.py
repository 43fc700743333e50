"""The mock OP for browser apps: Front-Channel Logout 1.0 and its faults, public clients, CORS, prompt=login and the script-built login page."""

import dataclasses
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from idp_client import (
    ALICE,
    BACK_CHANNEL,
    CONFIG,
    RP_BASIC,
    RP_POST,
    Browser,
    claims_of,
    is_active,
    pkce_pair,
    query,
    register_client,
)
from receiver import Receiver, register_rp

from harness import mockctl
from harness.target import Client as TargetClient
from harness.target import load as load_target
from mock_idp.config import Client, ConfigError, MockConfig
from mock_idp.server import BackgroundServer

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]
REDIRECT = "http://fc.test/cb"
BYE = "http://fc.test/bye"
# Characters that must survive the query, the HTML attribute and the script string alike.
STATE = "st 1&x=</script><y>"
LOGOUT_URI = "http://fc.test/logout?tenant=blue&note=a%20b"
OTHER_URI = "https://fc2.test/fc"
ORIGIN = "http://spa.test:8080"
MOCK_TARGET = "fixtures/targets/mock.yaml"


# ---- reading the logged-out page ----------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    in_head: bool
    text: str = ""


class Outline(HTMLParser):
    """A page's elements in document order (attributes unescaped), each with where it sits."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._in_head = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._in_head = True
        self.elements.append(Element(tag, dict(attrs), self._in_head))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False

    def handle_data(self, data: str) -> None:
        if self.elements and self.elements[-1].tag == "script":
            self.elements[-1].text += data

    def body(self) -> list[Element]:
        tags = [element.tag for element in self.elements]
        return self.elements[tags.index("body") + 1 :]

    def head_scripts(self) -> list[Element]:
        return [e for e in self.elements if e.tag == "script" and e.in_head]

    def iframe_srcs(self) -> list[str]:
        return [str(e.attrs["src"]) for e in self.elements if e.tag == "iframe"]


def navigation(script: str) -> str:
    """Where a script sends the browser with location.replace("...")."""
    found = re.search(r'location\.replace\(("(?:[^"\\]|\\.)*")\)', script)
    assert found, script
    target: str = json.loads(found.group(1))
    return target


def params_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# ---- front-channel RPs at a running mock ---------------------------------------------------------


def fc_rp(base_url: str, uri: str, *, session_required: bool = False) -> Client:
    """A new client registered at the mock (the run-time hook) with this front-channel logout URI."""
    client = Client(
        client_id="fc-" + secrets.token_hex(6),
        client_secret=secrets.token_urlsafe(16),
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[BYE],
        frontchannel_logout_uri=uri,
        frontchannel_logout_session_required=session_required,
    )
    answer = register_client(base_url, client)
    assert answer.status_code == 201, answer.text
    return client


@dataclass(frozen=True)
class LoggedOut:
    answer: httpx.Response
    # the sid of the ID tokens the RPs got
    sid: str


def log_out_of(browser: Browser, *clients: Client, redirect: bool = True) -> LoggedOut:
    """Sign in to every client in one OP session, then log out (hint of the first, confirmed)."""
    id_tokens = [browser.sign_in(client).id_token for client in clients]
    params = {"id_token_hint": id_tokens[0]}
    if redirect:
        params |= {"post_logout_redirect_uri": BYE, "state": STATE}
    sids = {claims_of(id_token)["sid"] for id_token in id_tokens}
    assert len(sids) == 1
    return LoggedOut(browser.log_out(**params), sids.pop())


def logged_out_page(
    mock_with: MockWith, new_browser: NewBrowser, fault: str, *uris: str, **rp: bool
) -> tuple[str, LoggedOut, Outline]:
    """A logout of a session with an RP per URI, on the mock with this fault; the page read."""
    url = mock_with(fault)
    browser = new_browser(url)
    done = log_out_of(browser, *(fc_rp(url, uri, **rp) for uri in uris))
    assert done.answer.status_code == 200, done.answer.text
    return url, done, Outline(done.answer.text)


# ---- Front-Channel Logout 1.0 --------------------------------------------------------------------


def test_discovery_says_front_channel_logout_with_sessions(mock_url: str) -> None:
    metadata = BACK_CHANNEL.get(mock_url + "/.well-known/openid-configuration").json()
    assert metadata["frontchannel_logout_supported"] is True
    assert metadata["frontchannel_logout_session_supported"] is True


def test_the_logged_out_page_loads_every_front_channel_rp_then_redirects(
    browser: Browser, mock_url: str
) -> None:
    first = fc_rp(mock_url, LOGOUT_URI, session_required=True)
    second = fc_rp(mock_url, OTHER_URI)
    browser.sign_in(RP_BASIC)  # an RP of the session without a front-channel logout URI
    done = log_out_of(browser, first, second)
    answer = done.answer
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"].startswith("text/html")
    assert 'op_session=""' in answer.headers["set-cookie"]
    page = Outline(answer.text)
    # <h1>, one iframe per RP in login order, and the script last: it runs once they are parsed.
    assert [e.tag for e in page.body()] == ["h1", "iframe", "iframe", "script"]
    assert page.head_scripts() == []
    assert all("hidden" in e.attrs for e in page.body() if e.tag == "iframe")
    logout, other = page.iframe_srcs()
    # The URI's own query first, as it was; iss and sid added, form-encoded.
    assert logout.startswith(LOGOUT_URI + "&iss=")
    assert f"&iss={mock_url.replace(':', '%3A').replace('/', '%2F')}&sid=" in logout
    assert params_of(logout) == {
        "tenant": ["blue"],
        "note": ["a b"],
        "iss": [mock_url],
        "sid": [done.sid],
    }
    assert other.startswith(OTHER_URI + "?iss=")
    assert params_of(other) == {"iss": [mock_url], "sid": [done.sid]}
    script = page.body()[-1].text
    assert navigation(script) == BYE + "?" + urlencode({"state": STATE})
    assert '"load"' in script and "setTimeout(leave, 5000)" in script
    assert "</script><y>" not in answer.text  # the state can't end the script early
    assert not browser.has_session()


def test_without_a_redirect_the_page_only_says_signed_out(browser: Browser, mock_url: str) -> None:
    done = log_out_of(browser, fc_rp(mock_url, OTHER_URI), redirect=False)
    page = Outline(done.answer.text)
    assert done.answer.status_code == 200
    assert [e.tag for e in page.body()] == ["h1", "iframe"]
    assert "You are signed out" in done.answer.text
    assert params_of(page.iframe_srcs()[0]) == {"iss": [mock_url], "sid": [done.sid]}


def test_sessions_without_front_channel_rps_answer_as_before(
    new_browser: NewBrowser, mock_url: str
) -> None:
    browser = new_browser(mock_url)
    answer = browser.log_out(
        id_token_hint=browser.sign_in(RP_BASIC).id_token,
        post_logout_redirect_uri="http://rp.test/bye",
        state="s",
    )
    assert answer.status_code == 302 and answer.headers["location"] == "http://rp.test/bye?state=s"
    browser = new_browser(mock_url)
    page = browser.log_out(id_token_hint=browser.sign_in(RP_BASIC).id_token)
    assert page.status_code == 200 and "<iframe" not in page.text and "<script" not in page.text


def test_rps_of_another_session_get_no_iframe(
    new_browser: NewBrowser, mock_url: str
) -> None:
    elsewhere = fc_rp(mock_url, OTHER_URI)
    new_browser(mock_url).sign_in(elsewhere)
    here = new_browser(mock_url)
    done = log_out_of(here, fc_rp(mock_url, LOGOUT_URI))
    assert [urlsplit(src).netloc for src in Outline(done.answer.text).iframe_srcs()] == ["fc.test"]


def test_back_channel_tokens_are_delivered_before_the_logged_out_page(
    mock_with: MockWith, new_browser: NewBrowser, receiver: Receiver
) -> None:
    url = mock_with()
    both = register_rp(
        url,
        receiver,
        post_logout_redirect_uris=[BYE],
        frontchannel_logout_uri=OTHER_URI,
    )
    browser = new_browser(url)
    id_token = browser.sign_in(both.client).id_token
    answer = browser.log_out(id_token_hint=id_token, post_logout_redirect_uri=BYE)
    assert answer.status_code == 200
    # Already there when the answer came: no waiting.
    (delivered,) = receiver.at(both.path)
    assert delivered.logout_token()
    assert len(Outline(answer.text).iframe_srcs()) == 1


def test_front_channel_logout_uris_are_checked_like_back_channel_ones(mock_url: str) -> None:
    for uri in ("fc.test/logout", "ftp://fc.test/logout", "https://fc.test/x#now", "http://[fc/"):
        with pytest.raises(ConfigError, match="frontchannel_logout_uri"):
            Client("c", "s", [], frontchannel_logout_uri=uri)
        body = {"client_id": "bad-fc", "client_secret": "s", "redirect_uris": [REDIRECT]}
        refused = BACK_CHANNEL.post(
            mock_url + "/_mock/oidc/clients", json={**body, "frontchannel_logout_uri": uri}
        )
        assert refused.status_code == 400 and "frontchannel_logout_uri" in refused.text
    wrong_type = {"client_id": "c", "client_secret": "s", "redirect_uris": []}
    with pytest.raises(ConfigError, match="frontchannel_logout_session_required"):
        MockConfig.from_json(
            json.dumps(
                {"clients": [{**wrong_type, "frontchannel_logout_session_required": "yes"}],
                 "users": []}
            )
        )


# Each fault of Front-Channel Logout 1.0, against what the conformant mock does above.


def test_fault_fcl_no_iframes(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url = mock_with("fcl-no-iframes")
    answer = log_out_of(new_browser(url), fc_rp(url, LOGOUT_URI)).answer
    assert answer.status_code == 302
    assert query(answer.headers["location"]) == {"state": [STATE]}
    assert "<iframe" not in answer.text


def test_fault_fcl_first_rp_only(mock_with: MockWith, new_browser: NewBrowser) -> None:
    _, _, page = logged_out_page(mock_with, new_browser, "fcl-first-rp-only", LOGOUT_URI, OTHER_URI)
    (only,) = page.iframe_srcs()
    assert only.startswith(LOGOUT_URI + "&")


def test_fault_fcl_iss_only(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url, _, page = logged_out_page(mock_with, new_browser, "fcl-iss-only", OTHER_URI)
    assert params_of(page.iframe_srcs()[0]) == {"iss": [url]}


def test_fault_fcl_wrong_sid(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url, done, page = logged_out_page(mock_with, new_browser, "fcl-wrong-sid", OTHER_URI)
    params = params_of(page.iframe_srcs()[0])
    assert params["iss"] == [url]
    assert params["sid"][0] and params["sid"] != [done.sid]


def test_fault_fcl_no_session_params(mock_with: MockWith, new_browser: NewBrowser) -> None:
    _, _, page = logged_out_page(
        mock_with, new_browser, "fcl-no-session-params", LOGOUT_URI, session_required=True
    )
    assert page.iframe_srcs() == [LOGOUT_URI]


def test_fault_fcl_query_dropped(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url, done, page = logged_out_page(mock_with, new_browser, "fcl-query-dropped", LOGOUT_URI)
    (src,) = page.iframe_srcs()
    assert src.startswith("http://fc.test/logout?iss=")
    assert params_of(src) == {"iss": [url], "sid": [done.sid]}


def test_fault_fcl_redirect_first(mock_with: MockWith, new_browser: NewBrowser) -> None:
    _, _, page = logged_out_page(mock_with, new_browser, "fcl-redirect-first", OTHER_URI)
    (early,) = page.head_scripts()
    assert query(navigation(early.text)) == {"state": [STATE]}
    assert len(page.iframe_srcs()) == 1


def test_fault_fcl_no_discovery(mock_with: MockWith) -> None:
    metadata = BACK_CHANNEL.get(mock_with("fcl-no-discovery") + "/.well-known/openid-configuration")
    assert "frontchannel_logout_supported" not in metadata.json()
    assert "frontchannel_logout_session_supported" not in metadata.json()
    assert metadata.json()["backchannel_logout_supported"] is True


# ---- public clients ------------------------------------------------------------------------------


def public_client(base_url: str) -> Client:
    """A new public client, registered as a browser app would be: no secret at all."""
    client_id = "spa-" + secrets.token_hex(6)
    answer = BACK_CHANNEL.post(
        base_url + "/_mock/oidc/clients",
        json={
            "client_id": client_id,
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        },
    )
    assert answer.status_code == 201, answer.text
    return Client(client_id, "", [REDIRECT], token_endpoint_auth_method="none")


def test_discovery_lists_none_for_token_and_revocation_only(mock_url: str) -> None:
    metadata = BACK_CHANNEL.get(mock_url + "/.well-known/openid-configuration").json()
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert "none" in metadata["revocation_endpoint_auth_methods_supported"]
    assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]


def test_a_public_client_must_send_a_code_challenge(browser: Browser, mock_url: str) -> None:
    spa = public_client(mock_url)
    refused = browser.authorize(spa)
    assert refused.status_code == 302
    assert query(refused.headers["location"]) == {
        "error": ["invalid_request"],
        "error_description": ["a public client must send a code_challenge (PKCE)"],
        "state": ["st-1"],
    }
    # Confidential clients may still leave PKCE out.
    assert browser.code(RP_BASIC)


def test_a_public_client_redeems_refreshes_and_revokes_with_its_client_id(
    browser: Browser, mock_url: str
) -> None:
    spa = public_client(mock_url)
    verifier, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    exchange = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, "client_id": spa.client_id}
    wrong = {**exchange, "code": browser.code(spa, **pkce), "code_verifier": "w" * 50}
    assert BACK_CHANNEL.post(mock_url + "/token", data=wrong).json()["error"] == "invalid_grant"
    good = {**exchange, "code": browser.code(spa, **pkce), "code_verifier": verifier}
    answer = BACK_CHANNEL.post(mock_url + "/token", data=good)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert claims_of(tokens["id_token"])["aud"] == spa.client_id
    renewed = BACK_CHANNEL.post(
        mock_url + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": spa.client_id,
        },
    )
    assert renewed.status_code == 200, renewed.text
    access = renewed.json()["access_token"]
    assert is_active(mock_url, access)
    revoked = BACK_CHANNEL.post(
        mock_url + "/revoke",
        data={"token": tokens["refresh_token"], "client_id": spa.client_id},
    )
    assert revoked.status_code == 200
    assert not is_active(mock_url, tokens["refresh_token"]) and not is_active(mock_url, access)


def test_public_clients_prove_nothing_else(browser: Browser, mock_url: str) -> None:
    spa = public_client(mock_url)
    verifier, challenge = pkce_pair()
    code = browser.code(spa, code_challenge=challenge, code_challenge_method="S256")
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier}
    # A secret it does not have, or Basic auth with an empty one: not its method.
    answers = [
        BACK_CHANNEL.post(mock_url + "/token", data={**exchange, "client_id": spa.client_id,
                                                     "client_secret": secret})
        for secret in ("", "guess")
    ]
    answers.append(BACK_CHANNEL.post(mock_url + "/token", data=exchange, auth=(spa.client_id, "")))
    for answer in answers:
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    # The code is still good: the refused attempts did not redeem it.
    redeemed = BACK_CHANNEL.post(mock_url + "/token", data={**exchange, "client_id": spa.client_id})
    assert redeemed.status_code == 200, redeemed.text
    # Introspection tells about any token: a client_id alone is not enough there.
    introspect = BACK_CHANNEL.post(
        mock_url + "/introspect", data={"token": "x", "client_id": spa.client_id}
    )
    assert introspect.status_code == 401
    # A confidential client still needs its secret, whichever way it sends its client_id.
    for client in (RP_BASIC, RP_POST):
        data = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": client.client_id}
        assert BACK_CHANNEL.post(mock_url + "/token", data=data).status_code == 401
        revoke = {"token": "x", "client_id": client.client_id}
        assert BACK_CHANNEL.post(mock_url + "/revoke", data=revoke).status_code == 401


def test_a_public_client_has_no_secret() -> None:
    with pytest.raises(ConfigError, match="public client"):
        Client("spa", "s", [REDIRECT], token_endpoint_auth_method="none")
    assert Client("spa", "", [REDIRECT], token_endpoint_auth_method="none").public
    config = MockConfig.from_json(
        json.dumps(
            {"clients": [{"client_id": "spa", "redirect_uris": [REDIRECT],
                          "token_endpoint_auth_method": "none"}],
             "users": []}
        )
    )
    assert config.clients[0].client_secret == "" and config.clients[0].public
    with pytest.raises(ConfigError, match="missing field 'client_secret'"):
        MockConfig.from_json('{"clients": [{"client_id": "c", "redirect_uris": []}], "users": []}')


# ---- CORS ----------------------------------------------------------------------------------------

CORS_PATHS = ("/.well-known/openid-configuration", "/jwks", "/token", "/userinfo", "/revoke")


@pytest.mark.parametrize("path", CORS_PATHS)
def test_preflights_are_answered_for_any_origin(mock_url: str, path: str) -> None:
    answer = BACK_CHANNEL.options(
        mock_url + path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert answer.headers["access-control-allow-methods"] == "GET, POST"
    assert answer.headers["access-control-allow-headers"] == "authorization, content-type"
    assert int(answer.headers["access-control-max-age"]) > 0
    assert answer.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in answer.headers


def test_cross_origin_answers_echo_the_origin(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    cors = {"Origin": ORIGIN}
    answers = [
        BACK_CHANNEL.get(mock_url + "/.well-known/openid-configuration", headers=cors),
        BACK_CHANNEL.get(mock_url + "/jwks", headers=cors),
        BACK_CHANNEL.get(
            mock_url + "/userinfo", headers={**cors, "Authorization": f"Bearer {tokens.access_token}"}
        ),
        BACK_CHANNEL.post(mock_url + "/token", headers=cors, data={"grant_type": "x"}),
        BACK_CHANNEL.post(mock_url + "/revoke", headers=cors, data={"token": "x"}),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 401, 401]
    for answer in answers:
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert answer.headers["vary"] == "Origin"
        assert "access-control-allow-credentials" not in answer.headers
    # Without Origin (not a browser's cross-origin call): no CORS header, same Vary.
    plain = BACK_CHANNEL.get(mock_url + "/jwks")
    assert "access-control-allow-origin" not in plain.headers and plain.headers["vary"] == "Origin"


def test_other_endpoints_stay_same_origin(mock_url: str) -> None:
    for path in ("/introspect", "/authorize", "/end-session", "/login"):
        answer = BACK_CHANNEL.options(
            mock_url + path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        assert answer.status_code == 405, path
        assert "access-control-allow-origin" not in answer.headers
    introspect = BACK_CHANNEL.post(mock_url + "/introspect", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in introspect.headers


# ---- prompt=login --------------------------------------------------------------------------------


def test_prompt_login_signs_in_again_into_a_new_session(
    browser: Browser, new_browser: NewBrowser, mock_url: str
) -> None:
    old = browser.sign_in()
    old_sid = claims_of(old.id_token)["sid"]
    old_cookie = browser.http.cookies["op_session"]
    page = browser.authorize(prompt="login", state="again")
    assert page.status_code == 200 and 'action="/login"' in page.text
    answer = browser.submit_login(page, ALICE)
    assert answer.status_code == 302 and query(answer.headers["location"])["state"] == ["again"]
    new_cookie = browser.http.cookies["op_session"]
    assert new_cookie != old_cookie
    session = browser.session()
    assert session is not None and session["sid"] != old_sid
    # The old session lives on for whoever still holds its cookie, tokens included.
    holder = new_browser(mock_url)
    holder.http.cookies.set("op_session", old_cookie)
    assert holder.session() == {"sid": old_sid, "sub": ALICE.sub}
    assert is_active(mock_url, old.access_token)


# ---- the script-built login page -----------------------------------------------------------------


@pytest.fixture(scope="module")
def script_login_mock() -> Iterator[str]:
    """A mock whose login page builds its form by script."""
    with BackgroundServer(dataclasses.replace(CONFIG, login_page="script")) as url:
        yield url


def scripted_interaction(html: str) -> str:
    found = re.search(r'\["name", "interaction"\], \["value", ("(?:[^"\\]|\\.)*")\]', html)
    assert found, html
    interaction: str = json.loads(found.group(1))
    return interaction


def test_the_script_login_page_has_no_form_in_its_html(
    new_browser: NewBrowser, script_login_mock: str
) -> None:
    browser = new_browser(script_login_mock)
    page = browser.authorize()
    assert page.status_code == 200
    assert "<form" not in page.text and "<input" not in page.text
    body = Outline(page.text).body()
    assert [e.tag for e in body] == ["h1", "script"]
    script = body[-1].text
    for built in ('"method", "post"', '"action", "/login"', '"name", "username"',
                  '"type", "password"', '"type", "submit"'):
        assert built in script
    # Posting the very fields the script's form would post signs in.
    form = {"interaction": scripted_interaction(page.text), "username": "alice", "password": "nope"}
    again = browser.http.post("/login", data=form)
    assert again.status_code == 200 and "Wrong username or password" in again.text
    assert "<form" not in again.text
    answer = browser.http.post("/login", data={**form, "password": ALICE.password})
    assert answer.status_code == 302 and "code" in query(answer.headers["location"])


def test_login_page_is_checked_and_round_trips() -> None:
    assert MockConfig.from_json(CONFIG.to_json()).login_page == "html"
    scripted = dataclasses.replace(CONFIG, login_page="script")
    assert MockConfig.from_json(scripted.to_json()).login_page == "script"
    with pytest.raises(ConfigError, match="login_page"):
        dataclasses.replace(CONFIG, login_page="javascript")
    with pytest.raises(ConfigError, match="login_page"):
        MockConfig.from_json('{"clients": [], "users": [], "login_page": 1}')


# ---- the harness's mock config -------------------------------------------------------------------


def test_mockctl_passes_front_channel_clients_and_the_login_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = load_target(MOCK_TARGET)
    for secret in target.secrets():
        monkeypatch.setenv(secret.env, "secret-" + secret.env)
    assert target.oidc is not None
    clients = (
        TargetClient("plain", "http://rp.test/cb", secret=target.oidc.clients[0].secret),
        dataclasses.replace(
            target.oidc.clients[0],
            id="fc",
            frontchannel_logout_uri=LOGOUT_URI,
            frontchannel_logout_session_required=True,
        ),
        TargetClient("spa", REDIRECT, auth_method="none"),
    )
    target = dataclasses.replace(
        target,
        oidc=dataclasses.replace(target.oidc, clients=clients, fan_out=()),
        # its receivers name the file's own clients
        casdoor=None,
        mock_login_page="script",
    )
    text = mockctl.mock_config_json(target, [])
    raw = {client["client_id"]: client for client in json.loads(text)["clients"]}
    assert "frontchannel_logout_uri" not in raw["plain"]
    assert "frontchannel_logout_session_required" not in raw["plain"]
    config = MockConfig.from_json(text)
    assert config.login_page == "script"
    fc = config.client("fc")
    assert fc is not None and fc.frontchannel_logout_uri == LOGOUT_URI
    assert fc.frontchannel_logout_session_required is True
    spa = config.client("spa")
    assert spa is not None and spa.public and spa.client_secret == ""
