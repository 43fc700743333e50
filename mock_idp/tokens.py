"""Grants and what they issue: authorization codes, access tokens and refresh tokens (RFC 6749 §1.3-1.5, https://www.rfc-editor.org/rfc/rfc6749#section-1.3)."""

import secrets
from dataclasses import dataclass
from typing import Literal

from mock_idp.bounded import BoundedMap
from mock_idp.config import User

CODE_LIFETIME = 60
ACCESS_TOKEN_LIFETIME = 600
REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600
MAX_ENTRIES = 10_000

TokenType = Literal["access_token", "refresh_token"]
# Why a token stopped working; userinfo and introspection faults tell the two apart.
RevokedBy = Literal["revocation", "logout"]


def search_order(hint: str | None) -> tuple[TokenType, ...]:
    """Where to look for a token: the hinted store first, then the other (RFC 7009 §2.1, RFC 7662 §2.1)."""
    if hint == "refresh_token":
        return ("refresh_token", "access_token")
    return ("access_token", "refresh_token")


@dataclass(frozen=True, eq=False)
class Grant:
    """One authorization of a client by a user in one OP session; compared by identity."""

    client_id: str
    user: User
    sid: str
    scopes: tuple[str, ...]
    nonce: str | None
    auth_time: int

    @property
    def offline(self) -> bool:
        # offline_access refresh tokens are meant to outlive the session (OIDC Core §11).
        return "offline_access" in self.scopes


@dataclass(frozen=True)
class AuthorizationCode:
    grant: Grant
    redirect_uri: str
    code_challenge: str | None
    expires_at: int


@dataclass(eq=False)
class Token:
    value: str
    type: TokenType
    grant: Grant
    issued_at: int
    expires_at: int
    revoked_by: RevokedBy | None = None

    def revoke(self, by: RevokedBy) -> None:
        if self.revoked_by is None:
            self.revoked_by = by

    def inactive_reason(self, now: int) -> str | None:
        """Why the token no longer works ("revoked", "expired"), or None while it is active."""
        if self.revoked_by is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return None


class TokenStore:
    def __init__(self) -> None:
        self._codes: BoundedMap[str, AuthorizationCode] = BoundedMap(MAX_ENTRIES)
        self._tokens: dict[TokenType, BoundedMap[str, Token]] = {
            "access_token": BoundedMap(MAX_ENTRIES),
            "refresh_token": BoundedMap(MAX_ENTRIES),
        }

    def issue_code(
        self, grant: Grant, redirect_uri: str, code_challenge: str | None, now: int
    ) -> str:
        code = secrets.token_urlsafe(32)
        self._codes[code] = AuthorizationCode(
            grant, redirect_uri, code_challenge, now + CODE_LIFETIME
        )
        return code

    def redeem_code(self, code: str, now: int) -> AuthorizationCode | None:
        """The code's data, once: a code is gone after its first use (RFC 6749 §4.1.2)."""
        redeemed = self._codes.pop(code, None)
        if redeemed is None or now >= redeemed.expires_at:
            return None
        return redeemed

    def issue(self, type: TokenType, grant: Grant, now: int) -> Token:
        lifetime = ACCESS_TOKEN_LIFETIME if type == "access_token" else REFRESH_TOKEN_LIFETIME
        token = Token(secrets.token_urlsafe(32), type, grant, now, now + lifetime)
        self._tokens[type][token.value] = token
        return token

    def find(self, value: str, types: tuple[TokenType, ...]) -> Token | None:
        """The token with this value, looked for in the stores of these types, in this order."""
        for type in types:
            token = self._tokens[type].get(value)
            if token is not None:
                return token
        return None

    def of_grant(self, grant: Grant, type: TokenType) -> list[Token]:
        return [token for token in self._tokens[type].values() if token.grant is grant]

    def of_user(self, user: User) -> list[Token]:
        return [
            token
            for store in self._tokens.values()
            for token in store.values()
            if token.grant.user is user
        ]

    def of_session(self, sid: str) -> list[Token]:
        return [
            token
            for store in self._tokens.values()
            for token in store.values()
            if token.grant.sid == sid
        ]
