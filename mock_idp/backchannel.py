"""Logout tokens POSTed to the RPs of the OP sessions that end (OpenID Connect Back-Channel Logout 1.0, https://openid.net/specs/openid-connect-backchannel-1_0.html)."""

import asyncio
import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

from mock_idp.config import Client
from mock_idp.keys import SigningKey
from mock_idp.outbound import Outbound
from mock_idp.provider import Provider
from mock_idp.sessions import Session

EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Short-lived, as §2.4 encourages (two minutes at most).
LIFETIME = 120
# Answers that say the RP logged out (§2.8: 200, and OPs should take 204 too).
DELIVERED = (200, 204)
# §2.8: resend only after an error that may pass, and only after a delay; once, in the background.
RETRY_DELAY = 1.0
# Tokens signed but not yet answered: a token is signed only once it may go, so a logout that fans
# out to thousands of RPs holds few in memory, and signing takes turns with sending.
MAX_IN_FLIGHT = 64
# What some faults send.
CRIT = "urn:example:unknown"
HUGE_CLAIM = 1024 * 1024


@dataclass(frozen=True)
class Notice:
    """One logout token to send: to this RP, about this ended session."""

    client: Client
    session: Session


class BackChannelLogout:
    def __init__(self, op: Provider, outbound: Outbound) -> None:
        self.op = op
        self.faults = op.faults
        self.outbound = outbound
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        # bcl-repeated-jti: one jti for every token of the run.
        self._run_jti = secrets.token_urlsafe(16)
        # bcl-foreign-key: keys the JWKS never shows, made once at start.
        self._foreign: dict[str, SigningKey] = {}
        if "bcl-foreign-key" in self.faults:
            self._foreign = {
                "RS256": RSAKey.generate_key(2048, private=True),
                "ES256": ECKey.generate_key("P-256", private=True),
            }

    async def notify(self, sessions: list[Session]) -> None:
        """Send a logout token to every RP logged in through these ended sessions (§2.3, §2.5).

        Returns once each was tried once (bounded by the outbound limits), so that RPs know before
        the browser is sent on; retries go on in the background.
        """
        if "bcl-not-sent" in self.faults:
            return
        notices = [Notice(client, session) for session in sessions for client in self._rps(session)]
        await self.outbound.all(self._deliver(notice) for notice in notices)

    def _rps(self, session: Session) -> list[Client]:
        clients = list(session.clients.values())
        if "bcl-all-clients" in self.faults:
            clients = self.op.clients.all()
        return [client for client in clients if client.backchannel_logout_uri]

    async def _deliver(self, notice: Notice) -> None:
        url = notice.client.backchannel_logout_uri
        assert url is not None  # _rps keeps only RPs that registered one
        async with self._in_flight:
            # Signed on the loop: sending, not signing, bounds a large fan-out, and worker threads
            # only fought the loop for the GIL (measured: no faster, a fifth more CPU).
            token = self._token(notice)
            status = await self._post(url, token)
        if status in DELIVERED:
            if "bcl-resend-after-success" in self.faults:
                self.outbound.later(self._resend(url, token, times=1, delay=0.0))
            return
        if "bcl-retry-at-once" in self.faults:
            self.outbound.later(self._resend(url, token, times=3, delay=0.0))
            return
        self.outbound.later(self._resend(url, token, times=1, delay=RETRY_DELAY))

    async def _resend(self, url: str, token: str, *, times: int, delay: float) -> None:
        for _ in range(times):
            await asyncio.sleep(delay)
            if await self._post(url, token) in DELIVERED:
                return

    async def _post(self, url: str, token: str) -> int | None:
        if "bcl-json-body" in self.faults:
            return await self.outbound.post(url, json={"logout_token": token})
        # §2.5: form-encoded, the token in logout_token.
        return await self.outbound.post(url, form={"logout_token": token})

    def _token(self, notice: Notice) -> str:
        if "bcl-not-jwt" in self.faults:
            return secrets.token_urlsafe(48)
        # The same alg and key as the RP's ID tokens (§2.4).
        alg = notice.client.id_token_signed_response_alg
        own = self.op.keys.for_alg(alg)
        key: SigningKey | None = own
        header: dict[str, Any] = {"alg": alg, "kid": own.kid, "typ": "logout+jwt"}
        if "bcl-no-typ" in self.faults:
            del header["typ"]
        if "bcl-unknown-kid" in self.faults:
            header["kid"] = secrets.token_urlsafe(16)
        if "bcl-crit" in self.faults:
            # RFC 7515 §4.1.11: a recipient that does not understand a crit member must reject.
            header["crit"] = [CRIT]
            header[CRIT] = True
        if "bcl-foreign-key" in self.faults:
            key = self._foreign[alg]
        if "bcl-unsigned" in self.faults:
            header = {"alg": "none", "typ": "logout+jwt"}
            key = None
        return _compact(header, self._claims(notice), key)

    def _claims(self, notice: Notice) -> dict[str, Any]:
        session = notice.session
        # Signed when it may go, not when the logout began: a long fan-out's last tokens are fresh.
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.op.issuer,
            "aud": notice.client.client_id,
            "iat": now,
            "exp": now + LIFETIME,
            "jti": secrets.token_urlsafe(16),
            "events": {EVENT: {}},
            # Both: sub names the End-User, sid the OP session the ID tokens named (§2.4).
            "sub": session.user.sub,
            "sid": session.sid,
        }
        if "bcl-wrong-iss" in self.faults:
            claims["iss"] = "https://another-issuer.invalid"
        if "bcl-wrong-aud" in self.faults:
            claims["aud"] = "not-" + notice.client.client_id
        if "bcl-no-iat" in self.faults:
            del claims["iat"]
        if "bcl-no-exp" in self.faults:
            del claims["exp"]
        if "bcl-no-jti" in self.faults:
            del claims["jti"]
        if "bcl-repeated-jti" in self.faults:
            claims["jti"] = self._run_jti
        if "bcl-no-events" in self.faults:
            del claims["events"]
        if "bcl-event-not-object" in self.faults:
            claims["events"] = {EVENT: True}
        if "bcl-event-not-empty" in self.faults:
            claims["events"] = {EVENT: {"reason": "logout"}}
        if "bcl-nonce" in self.faults:
            claims["nonce"] = secrets.token_urlsafe(16)
        if "bcl-no-sid" in self.faults:
            del claims["sid"]
        if "bcl-wrong-sid" in self.faults:
            claims["sid"] = secrets.token_urlsafe(16)
        if "bcl-wrong-sub" in self.faults:
            claims["sub"] = "not-" + session.user.sub
        if "bcl-no-sub-no-sid" in self.faults:
            del claims["sub"], claims["sid"]
        if "bcl-huge" in self.faults:
            claims["padding"] = "x" * HUGE_CLAIM
        return claims


def _compact(header: dict[str, Any], claims: dict[str, Any], key: SigningKey | None) -> str:
    """A compact JWS made by hand (RFC 7515 §7.1), so that faults can put anything in the header."""
    signing_input = _b64(_json(header)) + b"." + _b64(_json(claims))
    signature = (
        b"" if key is None else JWSRegistry.algorithms[header["alg"]].sign(signing_input, key)
    )
    return (signing_input + b"." + _b64(signature)).decode()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")
