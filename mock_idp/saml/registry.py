"""The SAML SPs the IdP knows: those of its config and those registered while it runs (a mock-only endpoint)."""

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_idp.bounded import BoundedMap
from mock_idp.config import SamlSp, saml_sp_from_json

MAX_SPS = 1_000


class SpRegistry:
    def __init__(self, sps: list[SamlSp]) -> None:
        self._by_entity_id: BoundedMap[str, SamlSp] = BoundedMap(MAX_SPS)
        for sp in sps:
            self.add(sp)

    def add(self, sp: SamlSp) -> None:
        """Register an SP; one with the same entityID is replaced."""
        self._by_entity_id.pop(sp.entity_id, None)
        self._by_entity_id[sp.entity_id] = sp

    def get(self, entity_id: str | None) -> SamlSp | None:
        return self._by_entity_id.get(entity_id or "")

    def all(self) -> list[SamlSp]:
        return list(self._by_entity_id.values())

    async def register(self, request: Request) -> Response:
        """POST /_mock/saml/sps: a JSON SamlSp in the body; 201 once registered."""
        try:
            sp = saml_sp_from_json(json.loads(await request.body()), "registered SAML SP")
        except ValueError as error:  # json.JSONDecodeError and ConfigError alike
            return JSONResponse({"error": str(error)}, 400)
        self.add(sp)
        return JSONResponse({"entity_id": sp.entity_id}, 201)
