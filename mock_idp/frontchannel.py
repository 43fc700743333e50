"""The RPs' logout URIs the OP's logged-out page renders in iframes (OpenID Connect Front-Channel Logout 1.0 §2-3, https://openid.net/specs/openid-connect-frontchannel-1_0.html)."""

import secrets
from urllib.parse import urlsplit, urlunsplit

from mock_idp.params import with_query
from mock_idp.provider import Provider
from mock_idp.sessions import Session


class FrontChannelLogout:
    def __init__(self, op: Provider) -> None:
        self.op = op
        self.faults = op.faults

    def logout_uris(self, session: Session) -> list[str]:
        """One URI per RP that logged in through this session and registered one (§3), in login order."""
        if "fcl-no-iframes" in self.faults:
            return []
        uris = [
            client.frontchannel_logout_uri
            for client in session.clients.values()
            if client.frontchannel_logout_uri is not None
        ]
        if "fcl-first-rp-only" in self.faults:
            uris = uris[:1]
        return [self._with_session(uri, session) for uri in uris]

    def _with_session(self, uri: str, session: Session) -> str:
        # The OP MAY add iss and sid, both or neither (§2); it always does, as its discovery says
        # (frontchannel_logout_session_supported), so RPs that require them get them too.
        params = {"iss": self.op.issuer, "sid": session.sid}
        if "fcl-iss-only" in self.faults:
            del params["sid"]
        if "fcl-wrong-sid" in self.faults:
            params["sid"] = secrets.token_urlsafe(16)
        if "fcl-no-session-params" in self.faults:
            params = {}
        if "fcl-query-dropped" in self.faults:
            uri = urlunsplit(urlsplit(uri)._replace(query=""))
        # The URI's own query is kept, iss and sid appended to it (§2).
        return with_query(uri, params)
