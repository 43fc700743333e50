"""What the mock IdP's tests share: the config they serve, a browser, and an RP's back-channel calls."""

import base64
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from mock_idp.config import Auth0Settings, Client, MockConfig, SamlSp, User

RP_BASIC = Client(
    client_id="rp-basic",
    client_secret="basic-secret",
    redirect_uris=["http://rp.test/cb"],
    post_logout_redirect_uris=["http://rp.test/bye", "http://rp.test/bye2?keep=1"],
    allowed_logout_urls="https://app.example/bye, http://*.apps.example:8080/out",
)
RP_POST = Client(
    client_id="rp-post",
    client_secret="post-secret",
    redirect_uris=["http://rp2.test/cb?tenant=7"],
    post_logout_redirect_uris=["http://rp2.test/bye"],
    id_token_signed_response_alg="ES256",
    token_endpoint_auth_method="client_secret_post",
    allowed_logout_urls="https://rp2.example",
)
# ID tokens born expired (exp == iat), to test expired hints without waiting.
RP_EXPIRED = Client(
    client_id="rp-expired",
    client_secret="expired-secret",
    redirect_uris=["http://rp3.test/cb"],
    post_logout_redirect_uris=["http://rp3.test/bye"],
    id_token_lifetime=0,
)
ALICE = User("alice", "alice-pw", "sub-alice", {"name": "Alice", "email": "alice@example.test"})
BOB = User("bob", "bob-pw", "sub-bob", {"name": "Bob"})
ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "fixtures" / "keys"


def saml_sp(name: str, slo_binding: str, signed: bool = True) -> SamlSp:
    """A SAML SP at http://{name}.test with the harness key of that name."""
    return SamlSp(
        entity_id=f"http://{name}.test/metadata",
        acs_url=f"http://{name}.test/acs",
        slo_url=f"http://{name}.test/slo",
        cert_pem=(KEYS / f"harness-{name}.crt").read_text(),
        slo_binding=slo_binding,
        sign_logout=signed,
        validate_logout=signed,
    )


# sp1 gets logout messages by HTTP-Redirect, sp2 by HTTP-POST; sp3 neither signs nor checks them.
SAML_SP1 = saml_sp("sp1", "redirect")
SAML_SP2 = saml_sp("sp2", "post")
SAML_SP3 = saml_sp("sp3", "redirect", signed=False)
# Auth0's tenant list, for /v2/logout without client_id.
AUTH0_TENANT = Auth0Settings("https://tenant.example/home ,https://*.tenant.example")
CONFIG = MockConfig(
    clients=[RP_BASIC, RP_POST, RP_EXPIRED],
    users=[ALICE, BOB],
    saml_sps=[SAML_SP1, SAML_SP2, SAML_SP3],
    auth0=AUTH0_TENANT,
)

# Where the in-process mocks (conftest's mock_with) send Casdoor notifications, by client_id.
CASDOOR_PATHS = {client.client_id: f"/casdoor/{client.client_id}" for client in (RP_BASIC, RP_POST)}

TIMEOUT = 5.0
# Plain http on loopback: verify=False only spares building a TLS context per client.
BACK_CHANNEL = httpx.Client(timeout=TIMEOUT, verify=False)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in _HIDDEN.findall(html)}


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def _json_part(jwt: str, index: int) -> dict[str, Any]:
    part = jwt.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def header_of(jwt: str) -> dict[str, Any]:
    return _json_part(jwt, 0)


def claims_of(jwt: str) -> dict[str, Any]:
    return _json_part(jwt, 1)


def b64url_json(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(id_token: str) -> str:
    """The same claims re-issued with alg none."""
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(claims_of(id_token))}."


def signed_by_stranger(id_token: str) -> str:
    """The same claims signed by a key the OP never had, under the OP's own kid."""
    header = {"alg": "RS256", "kid": header_of(id_token)["kid"]}
    return jwt.encode(header, claims_of(id_token), RSAKey.generate_key(2048))


def pkce_pair() -> tuple[str, str]:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    id_token: str
    response: dict[str, Any]


class Browser:
    """One cookie jar: one browser, so at most one OP session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url, follow_redirects=False, timeout=TIMEOUT, verify=False
        )

    def close(self) -> None:
        self.http.close()

    def authorize(self, client: Client = RP_BASIC, /, **params: str) -> httpx.Response:
        request = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uris[0],
            "scope": "openid profile email",
            "state": "st-1",
            "nonce": "n-1",
            **params,
        }
        return self.http.get("/authorize", params=request)

    def submit_login(
        self, page: httpx.Response, user: User, password: str | None = None
    ) -> httpx.Response:
        interaction = hidden_fields(page.text)["interaction"]
        form = {
            "interaction": interaction,
            "username": user.username,
            "password": user.password if password is None else password,
        }
        return self.http.post("/login", data=form)

    def code(self, client: Client = RP_BASIC, user: User = ALICE, /, **params: str) -> str:
        """Walk the authorization request (logging in when asked) to the code."""
        answer = self.authorize(client, **params)
        if answer.status_code == 200:
            answer = self.submit_login(answer, user)
        assert answer.status_code == 302, answer.text
        return query(answer.headers["location"])["code"][0]

    def sign_in(
        self, client: Client = RP_BASIC, user: User = ALICE, scope: str = "openid profile email"
    ) -> Tokens:
        code = self.code(client, user, scope=scope)
        answer = token_request(
            self.base_url,
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": client.redirect_uris[0],
            },
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return Tokens(body["access_token"], body["refresh_token"], body["id_token"], body)

    def end_session(self, method: str = "GET", **params: str) -> httpx.Response:
        if method == "POST":
            return self.http.post("/end-session", data=params)
        return self.http.get("/end-session", params=params)

    def confirm(self, page: httpx.Response, answer: str = "yes") -> httpx.Response:
        assert page.status_code == 200 and 'action="/end-session/confirm"' in page.text, page.text
        return self.http.post(
            "/end-session/confirm", data={**hidden_fields(page.text), "logout": answer}
        )

    def log_out(self, **params: str) -> httpx.Response:
        """Ask to log out and say yes when asked."""
        page = self.end_session(**params)
        if page.status_code == 200 and 'action="/end-session/confirm"' in page.text:
            return self.confirm(page)
        return page

    def has_session(self, client: Client = RP_BASIC) -> bool:
        answer = self.authorize(client, prompt="none")
        return "code" in query(answer.headers["location"])

    def session(self) -> dict[str, str] | None:
        """{sid, sub} of this browser's OP session (the mock-only hook), None without one."""
        answer = self.http.get("/_mock/oidc/session")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        found: dict[str, str] = answer.json()
        return found

    def sso_logout(self, method: str = "POST", **params: str) -> httpx.Response:
        """Casdoor's SSO logout with this browser's session cookie."""
        return self.http.request(method, "/api/sso-logout", params=params)

    def auth0_logout(self, **params: str) -> httpx.Response:
        """Auth0's /v2/logout with this browser's session cookie."""
        return self.http.get("/v2/logout", params=params)


def client_post(
    base_url: str, path: str, client: Client | None, data: dict[str, str]
) -> httpx.Response:
    """A back-channel POST as this client, by its auth method (None: no client authentication)."""
    if client is None:
        return BACK_CHANNEL.post(base_url + path, data=data)
    if client.token_endpoint_auth_method == "client_secret_post":
        posted = {**data, "client_id": client.client_id, "client_secret": client.client_secret}
        return BACK_CHANNEL.post(base_url + path, data=posted)
    auth = httpx.BasicAuth(client.client_id, client.client_secret)
    return BACK_CHANNEL.post(base_url + path, data=data, auth=auth)


def register_client(base_url: str, client: Client) -> httpx.Response:
    """Register a client at the mock while it runs (the mock-only hook)."""
    return BACK_CHANNEL.post(base_url + "/_mock/oidc/clients", json=asdict(client))


def token_request(base_url: str, client: Client, data: dict[str, str]) -> httpx.Response:
    return client_post(base_url, "/token", client, data)


def refresh(base_url: str, client: Client, refresh_token: str) -> httpx.Response:
    return token_request(
        base_url, client, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def introspect(base_url: str, client: Client | None, token: str, **params: str) -> httpx.Response:
    return client_post(base_url, "/introspect", client, {"token": token, **params})


def is_active(base_url: str, token: str, client: Client = RP_BASIC) -> bool:
    answer = introspect(base_url, client, token)
    assert answer.status_code == 200, answer.text
    return answer.json()["active"] is True


def revoke(base_url: str, client: Client, token: str, **params: str) -> httpx.Response:
    return client_post(base_url, "/revoke", client, {"token": token, **params})


def userinfo(base_url: str, access_token: str) -> httpx.Response:
    return BACK_CHANNEL.get(
        base_url + "/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
