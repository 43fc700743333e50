"""The OIDC clients the OP knows: those of its config and those registered while it runs (a mock-only endpoint)."""

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_idp.config import Client, client_from_json

# Run-time registrations stop here; the config's own clients always count, however many.
MAX_CLIENTS = 10_000


class ClientRegistry:
    def __init__(self, clients: list[Client]) -> None:
        self._by_id: dict[str, Client] = {client.client_id: client for client in clients}

    def get(self, client_id: str) -> Client | None:
        return self._by_id.get(client_id)

    def all(self) -> list[Client]:
        return list(self._by_id.values())

    async def register(self, request: Request) -> Response:
        """POST /_mock/oidc/clients: a JSON Client in the body; 201 once registered, 409 if known."""
        try:
            client = client_from_json(json.loads(await request.body()), "registered client")
        except ValueError as error:  # json.JSONDecodeError and ConfigError alike
            return JSONResponse({"error": str(error)}, 400)
        if client.client_id in self._by_id:
            # Unlike SAML SPs, a client is never replaced: its tokens and sessions point to it.
            return JSONResponse({"error": f"client {client.client_id!r} already exists"}, 409)
        if len(self._by_id) >= MAX_CLIENTS:
            return JSONResponse({"error": f"the mock holds at most {MAX_CLIENTS} clients"}, 400)
        self._by_id[client.client_id] = client
        return JSONResponse({"client_id": client.client_id}, 201)
