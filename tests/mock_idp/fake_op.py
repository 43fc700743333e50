"""An upstream OpenID Provider for the federation tests that signs in nobody: its token endpoint answers with whatever ID Token the test made, so that each check of the mock's upstream login can be made to fail."""

import threading
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_idp.listening import ReadyServer, bind

TIMEOUT = 5.0


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, {"alg": "RS256", "use": "sig"}, private=True, auto_kid=True)


class FakeOp:
    """Discovery (without end_session_endpoint), a JWKS and a token endpoint, on 127.0.0.1."""

    def __init__(self) -> None:
        self._sock, self.url = bind("127.0.0.1", 0)
        self.key = new_key()
        # What the token endpoint answers next, and the (Authorization, form) of each request.
        self.id_token = ""
        self.token_requests: list[tuple[str, dict[str, str]]] = []
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/token", self._token, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", log_config=None
        )
        # Set once the server accepts connections, or when it gave up before that.
        self._settled = threading.Event()
        self._server = ReadyServer(config, self._settled.set)
        self._thread = threading.Thread(target=self._run, name="fake-op", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._settled.set()

    def start(self) -> None:
        self._thread.start()
        assert self._settled.wait(TIMEOUT) and self._server.started, "the fake OP did not start"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(TIMEOUT)
        self._sock.close()

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        """An RS256 ID Token with these claims, by the OP's key (under its kid) unless told."""
        header = {"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, key or self.key)

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": self.url + "/authorize",
                "token_endpoint": self.url + "/token",
                "jwks_uri": self.url + "/jwks",
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        self.token_requests.append((request.headers.get("authorization", ""), form))
        return JSONResponse(
            {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token}
        )
