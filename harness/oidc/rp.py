"""The harness as an OpenID Connect Relying Party: code flow with PKCE, token calls, logout requests.

https://openid.net/specs/openid-connect-core-1_0.html (code flow),
https://openid.net/specs/openid-connect-rpinitiated-1_0.html (logout requests).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import httpx

from harness import formwalker
from harness.browser import worker_pool
from harness.engine import Runtime
from harness.errors import NotApplicable, TargetError
from harness.http import origin
from harness.oidc import discovery, jwt
from harness.redact import REDACTOR
from harness.target import Client, OidcSettings, User

#: authorization errors that mean "no usable session" (OpenID Connect Core 3.1.2.6)
NO_SESSION_ERRORS = frozenset(
    {"login_required", "interaction_required", "account_selection_required", "consent_required"}
)


@dataclass
class Login:
    """A completed login: the browser that holds the OP session, and the tokens it got."""

    name: str
    client: Client
    user: User
    browser: httpx.Client
    id_token: str
    access_token: str
    refresh_token: str | None
    claims: dict[str, Any]


@dataclass
class LogoutOutcome:
    """What one logout request led to, as the browser saw it."""

    method: str
    sent: dict[str, str]
    confirmation_shown: bool = False
    alive_before_confirm: bool | None = None
    redirect: str | None = None
    status: int = 0
    final_url: str = ""
    pages: list[str] = field(default_factory=list)
    #: the last answer the browser got (where it would go next: Location, meta refresh, script)
    final: httpx.Response | None = None


@dataclass(frozen=True)
class Answer:
    """A back-channel answer: status, the JSON object it held (None if it held none), content type."""

    status: int
    body: dict[str, Any] | None
    content_type: str

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        return cls(response.status_code, _json(response), response.headers.get("content-type", ""))


@dataclass(frozen=True)
class SilentResult:
    """The answer to a prompt=none authorization request."""

    alive: bool
    detail: str


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = json.loads(response.text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def basic_auth(client_id: str, secret: str) -> httpx.BasicAuth:
    """HTTP Basic client credentials; RFC 6749 section 2.3.1: both halves are form-urlencoded before
    base64 ("+" in a secret is "%2B")."""
    REDACTOR.add_secret(secret)
    return httpx.BasicAuth(quote_plus(client_id), quote_plus(secret))


class RelyingParty:
    """One per runtime: discovery and keys are fetched once, every login gets its own browser."""

    def __init__(self, runtime: Runtime, settings: OidcSettings | None = None) -> None:
        """The target's OP, or the OP ``settings`` describe (an upstream IdP the target is chained to)."""
        settings = settings or runtime.target.oidc
        if settings is None:
            raise TargetError("the target file has no 'oidc' section")
        self.runtime = runtime
        self.settings: OidcSettings = settings
        self.http = runtime.http.client()
        self.keys = jwt.HarnessKeys()
        self._metadata: discovery.ProviderMetadata | None = None
        self._jwks: dict[str, Any] | None = None

    @property
    def metadata(self) -> discovery.ProviderMetadata:
        if self._metadata is None:
            self._metadata = discovery.fetch(self.http, self.settings.issuer)
        return self._metadata

    @property
    def jwks(self) -> dict[str, Any]:
        if self._jwks is None:
            self._jwks = discovery.fetch_jwks(self.http, self.metadata.jwks_uri)
        return self._jwks

    @property
    def stay_on(self) -> list[str]:
        """Origins whose redirects a browser follows without leaving the OP."""
        return sorted({origin(self.settings.issuer), origin(self.metadata.authorization_endpoint)})

    # --- client authentication -------------------------------------------------------------------
    def _auth(
        self, client: Client, data: dict[str, str]
    ) -> tuple[dict[str, str], httpx.BasicAuth | None]:
        secret = client.secret.value() if client.secret else ""
        REDACTOR.add_secret(secret)
        if client.auth_method == "client_secret_post":
            return {**data, "client_id": client.id, "client_secret": secret}, None
        if client.auth_method == "none":
            return {**data, "client_id": client.id}, None
        return data, basic_auth(client.id, secret)

    def _post(self, url: str, client: Client | None, data: dict[str, str]) -> httpx.Response:
        if client is None:
            return self.http.post(url, data=data)
        body, auth = self._auth(client, data)
        return self.http.post(url, data=body, auth=auth) if auth else self.http.post(url, data=body)

    # --- login -----------------------------------------------------------------------------------
    def _authorize_url(
        self, client: Client, state: str, nonce: str, challenge: str, prompt: str | None,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        params = {
            "response_type": "code",
            "client_id": client.id,
            "redirect_uri": client.redirect_uri,
            "scope": client.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if prompt:
            params["prompt"] = prompt
        params.update(extra or {})
        return f"{self.metadata.authorization_endpoint}?{urlencode(params)}"

    def login(self, name: str, browser: httpx.Client, client: Client, user: User, *,
              extra: Mapping[str, str] | None = None, through: Sequence[str] = (),
              forms: Sequence[formwalker.FormRule] = ()) -> Login:
        """Authorization code flow with PKCE, logging in through the target's forms; ``extra`` adds
        authorization parameters (an upstream connection), ``through`` origins the browser may pass
        (the upstream IdP) and ``forms`` rules for the pages it shows there."""
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        password = user.password.value() if user.password else ""
        REDACTOR.add_secret(password)
        start = self._authorize_url(client, state, nonce, challenge, None, extra)
        values = {"username": user.username, "password": password}
        if "login" in self.runtime.target.browser.steps:
            params = self._login_in_browser(start, client, [*self.settings.login_forms, *forms], values, browser)
        else:
            walk = formwalker.walk(browser, start, [*self.settings.login_forms, *forms], values,
                                   stay_on=[*self.stay_on, *through], max_steps=self.settings.login_max_steps)
            params = self._callback(client, walk.external_redirect, walk.final_url, walk.final_response)
        if params.get("state") != state:
            raise TargetError(
                f"login for {client.id}: the authorization response did not return the state sent"
            )
        code = params.get("code")
        if not code:
            raise TargetError(
                f"login for {client.id} failed: {params.get('error', 'no code')} "
                f"{params.get('error_description', '')}".strip()
            )
        REDACTOR.add_secret(code)
        response = self._post(
            self.metadata.token_endpoint,
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": client.redirect_uri,
                "code_verifier": verifier,
            },
        )
        tokens = _json(response)
        if response.status_code != 200 or tokens is None or "id_token" not in tokens:
            raise TargetError(
                f"token request for {client.id} answered {response.status_code}: "
                f"{REDACTOR.text(response.text[:200])}"
            )
        for key in ("access_token", "refresh_token", "id_token"):
            if isinstance(tokens.get(key), str):
                REDACTOR.add_secret(tokens[key])
        claims = self.verify_id_token(tokens["id_token"], client, nonce)
        return Login(
            name,
            client,
            user,
            browser,
            tokens["id_token"],
            str(tokens.get("access_token", "")),
            tokens.get("refresh_token"),
            claims,
        )

    def _login_in_browser(self, start: str, client: Client, forms: Sequence[formwalker.FormRule],
                          values: Mapping[str, str], jar: httpx.Client) -> dict[str, str]:
        """The target file says its login pages need a real browser: sign in in Chromium, then hand the OP's
        session cookies to the HTTP client, which goes on as if it had signed in itself."""
        session = worker_pool(self.runtime).session()
        try:
            session.goto(start)
            final = session.fill_forms(forms, values, lambda url: url.startswith(client.redirect_uri),
                                       f"{client.redirect_uri} after signing in", self.settings.login_max_steps)
            for cookie in session.context.cookies():
                jar.cookies.set(cookie["name"], cookie["value"], domain=cookie["domain"], path=cookie["path"])
                REDACTOR.add_secret(cookie["value"])
        finally:
            session.finish(False, lambda *_: None)
        return {k: v[0] for k, v in parse_qs(urlsplit(final).query).items()}

    def _callback(
        self, client: Client, redirect: str | None, final_url: str, final: httpx.Response
    ) -> dict[str, str]:
        if not redirect or not redirect.startswith(client.redirect_uri):
            raise TargetError(
                f"login for {client.id} did not come back to {client.redirect_uri}: ended at "
                f"{final_url} (HTTP {final.status_code}); check the target's login forms"
            )
        return {k: v[0] for k, v in parse_qs(urlsplit(redirect).query).items()}

    def verify_id_token(self, token: str, client: Client, nonce: str | None) -> dict[str, Any]:
        """Signature against the OP's JWKS, then iss, aud and nonce (OpenID Connect Core 3.1.3.7)."""
        try:
            claims = jwt.verify(token, self.jwks, algorithms=[client.id_token_alg])
        except jwt.MalformedJwt as exc:
            raise TargetError(
                f"the id_token from {client.id}'s login is not a valid JWT: {exc}"
            ) from None
        aud = claims.get("aud")
        if claims.get("iss") != self.metadata.issuer:
            raise TargetError(
                f"id_token iss is {claims.get('iss')!r}, not the issuer {self.metadata.issuer!r}"
            )
        if client.id not in (aud if isinstance(aud, list) else [aud]):
            raise TargetError(f"id_token aud {aud!r} does not name {client.id}")
        if nonce is not None and claims.get("nonce") != nonce:
            raise TargetError("id_token nonce differs from the nonce sent")
        return claims

    def silent(self, browser: httpx.Client, client: Client) -> SilentResult:
        """A prompt=none authorization request: does the browser still have a session at the OP?"""
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(b"x" * 43).digest()).rstrip(b"=").decode()
        )
        walk = formwalker.walk(
            browser,
            self._authorize_url(client, state, nonce, challenge, "none"),
            [],
            {},
            stay_on=self.stay_on,
            max_steps=self.settings.login_max_steps,
        )
        if not walk.external_redirect or not walk.external_redirect.startswith(client.redirect_uri):
            return SilentResult(
                False,
                f"prompt=none showed a page at {walk.final_url} "
                f"(HTTP {walk.final_response.status_code}) instead of redirecting",
            )
        params = {k: v[0] for k, v in parse_qs(urlsplit(walk.external_redirect).query).items()}
        if "code" in params:
            REDACTOR.add_secret(params["code"])
            return SilentResult(True, "prompt=none returned an authorization code")
        error = params.get("error", "")
        return SilentResult(
            False,
            f"prompt=none returned error={error}" if error else "prompt=none returned no code",
        )

    # --- tokens ----------------------------------------------------------------------------------
    def _endpoint(self, name: str) -> str:
        url = getattr(self.metadata, name)
        if not url:
            raise NotApplicable(f"the OP publishes no {name} in its discovery document")
        return str(url)

    def refresh(self, client: Client, refresh_token: str) -> Answer:
        answer = Answer.of(self._post(self.metadata.token_endpoint, client,
                                      {"grant_type": "refresh_token", "refresh_token": refresh_token}))
        for key in ("access_token", "refresh_token", "id_token"):
            if answer.body and isinstance(answer.body.get(key), str):
                REDACTOR.add_secret(answer.body[key])
        return answer

    def userinfo(self, access_token: str) -> Answer:
        return Answer.of(self.http.get(self._endpoint("userinfo_endpoint"),
                                       headers={"Authorization": f"Bearer {access_token}"}))

    def introspect(self, client: Client | None, token: str) -> Answer:
        return Answer.of(self._post(self._endpoint("introspection_endpoint"), client, {"token": token}))

    def revoke(self, client: Client, token: str, hint: str | None) -> Answer:
        data = {"token": token, **({"token_type_hint": hint} if hint else {})}
        return Answer.of(self._post(self._endpoint("revocation_endpoint"), client, data))

    # --- logout ----------------------------------------------------------------------------------
    def end_session(
        self,
        browser: httpx.Client,
        params: dict[str, str],
        method: str,
        *,
        confirm: bool,
        probe: Client | None,
    ) -> LogoutOutcome:
        """Send a logout request; meet the confirmation page (probing the session first if asked)."""
        endpoint = self._endpoint("end_session_endpoint")
        if method == "POST":
            request = browser.build_request("POST", endpoint, data=params)
        else:
            request = browser.build_request("GET", endpoint, params=params)
        confirmation = self.settings.logout_confirmation
        # the login rules also cover pages an OP may show on the way out (auto-submitting forms)
        rules = ([confirmation] if confirmation else []) + list(self.settings.login_forms)
        outcome = LogoutOutcome(method, params)
        walk = formwalker.walk(
            browser,
            request,
            rules,
            {},
            stay_on=self.stay_on,
            max_steps=self.settings.login_max_steps,
            stop_before=[confirmation.name] if confirmation else [],
        )
        outcome.pages += walk.pages
        if walk.stopped_at:
            outcome.confirmation_shown = True
            if probe is not None:
                outcome.alive_before_confirm = self.silent(browser, probe).alive
            if confirm:
                walk = formwalker.resume(
                    browser,
                    walk,
                    rules,
                    {},
                    stay_on=self.stay_on,
                    max_steps=self.settings.login_max_steps,
                )
                outcome.pages += walk.pages
        outcome.redirect = walk.external_redirect
        outcome.status = walk.final_response.status_code
        outcome.final_url = walk.final_url
        outcome.final = walk.final_response
        return outcome
