"""The conformant mock OP: discovery, keys, login, the code flow, tokens and userinfo."""

from collections.abc import Callable

from idp_client import (
    ALICE,
    BACK_CHANNEL,
    BOB,
    RP_BASIC,
    RP_POST,
    Browser,
    claims_of,
    hidden_fields,
    pkce_pair,
    query,
    refresh,
    token_request,
    userinfo,
)
from joserfc import jwt
from joserfc.jwk import KeySet

LOGIN_FORM = (
    '<form method="post" action="/login"><input type="hidden" name="interaction" value="{}">'
    '<input type="text" name="username"><input type="password" name="password">'
    '<button type="submit">Sign in</button></form>'
)


def test_discovery_names_every_endpoint(mock_url: str) -> None:
    metadata = BACK_CHANNEL.get(mock_url + "/.well-known/openid-configuration").json()
    assert metadata["issuer"] == mock_url
    for name, path in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("end_session_endpoint", "/end-session"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ]:
        assert metadata[name] == mock_url + path
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "offline_access" in metadata["scopes_supported"]
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    assert metadata["frontchannel_logout_supported"] is True


def test_jwks_has_one_public_key_per_alg(mock_url: str) -> None:
    keys = BACK_CHANNEL.get(mock_url + "/jwks").json()["keys"]
    assert {(k["kty"], k["alg"], k["use"]) for k in keys} == {
        ("RSA", "RS256", "sig"),
        ("EC", "ES256", "sig"),
    }
    assert all(k["kid"] and "d" not in k for k in keys)


def test_login_form_has_the_fixed_shape(browser: Browser) -> None:
    page = browser.authorize()
    assert page.status_code == 200
    interaction = hidden_fields(page.text)["interaction"]
    assert LOGIN_FORM.format(interaction) in page.text


def test_wrong_password_shows_the_form_again(browser: Browser) -> None:
    page = browser.submit_login(browser.authorize(), ALICE, password="nope")
    assert page.status_code == 200
    assert "Wrong username or password" in page.text
    assert 'action="/login"' in page.text
    assert "op_session" not in page.headers.get("set-cookie", "")


def test_bad_client_or_redirect_uri_is_an_error_page_never_a_redirect(browser: Browser) -> None:
    for params in [{"client_id": "nobody"}, {"redirect_uri": "http://evil.test/cb"}]:
        answer = browser.authorize(**params)
        assert answer.status_code == 400
        assert "location" not in answer.headers


def test_code_flow_with_rs256_and_basic_auth(browser: Browser, mock_url: str) -> None:
    login_page = browser.authorize()
    answer = browser.submit_login(login_page, ALICE)
    assert answer.status_code == 302
    cookie = answer.headers["set-cookie"]
    assert "op_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    location = answer.headers["location"]
    assert location.startswith("http://rp.test/cb?")
    assert query(location)["state"] == ["st-1"]
    code = query(location)["code"][0]
    tokens = token_request(
        mock_url,
        RP_BASIC,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://rp.test/cb"},
    )
    assert tokens.status_code == 200
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["access_token"] and body["refresh_token"]
    keys = KeySet.import_key_set(BACK_CHANNEL.get(mock_url + "/jwks").json())
    id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
    assert id_token.header["alg"] == "RS256" and id_token.header["kid"]
    claims = id_token.claims
    assert claims["iss"] == mock_url and claims["aud"] == "rp-basic"
    assert claims["sub"] == "sub-alice" and claims["nonce"] == "n-1"
    assert claims["exp"] == claims["iat"] + 300 and claims["sid"]
    assert claims["name"] == "Alice" and claims["email"] == "alice@example.test"


def test_code_flow_with_es256_and_post_auth_keeps_the_redirect_query(
    browser: Browser, mock_url: str
) -> None:
    tokens = browser.sign_in(RP_POST, scope="openid")
    assert (
        jwt.decode(
            tokens.id_token,
            KeySet.import_key_set(BACK_CHANNEL.get(mock_url + "/jwks").json()),
            algorithms=["ES256"],
        ).header["alg"]
        == "ES256"
    )
    assert "name" not in claims_of(tokens.id_token)  # no profile scope, no profile claims
    location = browser.authorize(RP_POST).headers["location"]
    assert query(location)["tenant"] == ["7"] and "code" in query(location)


def test_a_live_session_skips_the_login(browser: Browser) -> None:
    browser.code()
    answer = browser.authorize(RP_POST, state="again")
    assert answer.status_code == 302
    assert query(answer.headers["location"])["state"] == ["again"]


def test_prompt_none_without_a_session_is_login_required(browser: Browser) -> None:
    answer = browser.authorize(prompt="none")
    assert answer.status_code == 302
    assert query(answer.headers["location"]) == {
        "error": ["login_required"],
        "error_description": ["the end-user is not logged in"],
        "state": ["st-1"],
    }
    browser.code()
    assert browser.has_session()


def test_codes_work_once_and_only_for_their_client_and_redirect_uri(
    browser: Browser, mock_url: str
) -> None:
    code = browser.code()
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://rp.test/cb",
    }
    wrong_uri = token_request(mock_url, RP_BASIC, {**exchange, "redirect_uri": "http://rp.test/x"})
    assert wrong_uri.json()["error"] == "invalid_grant"
    # The failed attempt used the code up.
    assert token_request(mock_url, RP_BASIC, exchange).json()["error"] == "invalid_grant"
    other = browser.code()
    assert token_request(mock_url, RP_POST, {**exchange, "code": other}).status_code == 400
    first = token_request(mock_url, RP_BASIC, {**exchange, "code": browser.code()})
    assert first.status_code == 200


def test_pkce_is_verified_when_a_challenge_was_sent(browser: Browser, mock_url: str) -> None:
    verifier, challenge = pkce_pair()
    params = {"code_challenge": challenge, "code_challenge_method": "S256"}
    exchange = {"grant_type": "authorization_code", "redirect_uri": "http://rp.test/cb"}
    bad = {**exchange, "code": browser.code(**params), "code_verifier": "w" * 50}
    assert token_request(mock_url, RP_BASIC, bad).json()["error"] == "invalid_grant"
    good = {**exchange, "code": browser.code(**params), "code_verifier": verifier}
    assert token_request(mock_url, RP_BASIC, good).status_code == 200
    plain = browser.authorize(code_challenge="abc", code_challenge_method="plain")
    assert query(plain.headers["location"])["error"] == ["invalid_request"]


def test_client_authentication(browser: Browser, mock_url: str) -> None:
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://rp.test/cb"}
    wrong_secret = BACK_CHANNEL.post(mock_url + "/token", data=data, auth=("rp-basic", "nope"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    # rp-basic registered client_secret_basic: posting the secret is not its method.
    posted = BACK_CHANNEL.post(
        mock_url + "/token", data={**data, "client_id": "rp-basic", "client_secret": "basic-secret"}
    )
    assert posted.status_code == 401
    assert BACK_CHANNEL.post(mock_url + "/token", data=data).status_code == 401


def test_refresh_gives_a_new_access_token_and_id_token(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    answer = refresh(mock_url, RP_BASIC, tokens.refresh_token)
    assert answer.status_code == 200
    body = answer.json()
    assert body["access_token"] != tokens.access_token
    claims = claims_of(body["id_token"])
    assert claims["sid"] == claims_of(tokens.id_token)["sid"] and "nonce" not in claims
    assert userinfo(mock_url, tokens.access_token).status_code == 200
    assert userinfo(mock_url, body["access_token"]).status_code == 200
    assert refresh(mock_url, RP_POST, tokens.refresh_token).json()["error"] == "invalid_grant"
    assert refresh(mock_url, RP_BASIC, "unknown").json()["error"] == "invalid_grant"


def test_userinfo(browser: Browser, mock_url: str) -> None:
    tokens = browser.sign_in()
    answer = userinfo(mock_url, tokens.access_token)
    assert answer.json() == {"sub": "sub-alice", "name": "Alice", "email": "alice@example.test"}
    posted = BACK_CHANNEL.post(
        mock_url + "/userinfo", headers={"Authorization": f"Bearer {tokens.access_token}"}
    )
    assert posted.status_code == 200
    unknown = userinfo(mock_url, "unknown")
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert BACK_CHANNEL.get(mock_url + "/userinfo").status_code == 401


def test_each_browser_has_its_own_session(
    new_browser: Callable[[str], Browser], mock_url: str
) -> None:
    alice = claims_of(new_browser(mock_url).sign_in(user=ALICE).id_token)
    bob = claims_of(new_browser(mock_url).sign_in(user=BOB).id_token)
    alice_again = claims_of(new_browser(mock_url).sign_in(user=ALICE).id_token)
    assert (alice["sub"], bob["sub"], alice_again["sub"]) == ("sub-alice", "sub-bob", "sub-alice")
    assert len({alice["sid"], bob["sid"], alice_again["sid"]}) == 3


def test_bodies_over_64_kib_are_refused(mock_url: str) -> None:
    answer = BACK_CHANNEL.post(mock_url + "/token", content=b"a=" + b"x" * 70_000)
    assert answer.status_code == 413
