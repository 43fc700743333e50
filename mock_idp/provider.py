"""The mock OP's state: its config, issuer, keys, clients, sessions and tokens, and what a logout does to them."""

from typing import TYPE_CHECKING

from mock_idp.clients import ClientRegistry
from mock_idp.config import MockConfig
from mock_idp.keys import SigningKeys
from mock_idp.sessions import Session, SessionStore
from mock_idp.tokens import TokenStore

if TYPE_CHECKING:
    # For the annotations only: both modules use the Provider, and create_app builds them.
    from mock_idp.federation import Federation
    from mock_idp.upstream import Upstreams


class Provider:
    def __init__(self, config: MockConfig, issuer: str) -> None:
        self.config = config
        self.issuer = issuer
        self.faults = config.faults
        self.keys = SigningKeys(config.oidc_keys_pem)
        self.clients = ClientRegistry(config.clients)
        self.sessions = SessionStore()
        self.tokens = TokenStore()
        # Set by create_app, which has the SAML key they sign with: logging in through the
        # config's upstreams, and the federated logout that ends their sessions too.
        self.upstreams: Upstreams
        self.federation: Federation

    def log_out(self, session: Session) -> list[Session]:
        """End this OP session and stop the tokens it granted, but for offline_access refresh tokens.

        Returns the sessions that ended, whose RPs the caller may have to tell.
        """
        ending = [session]
        if "logout-ends-all-sessions" in self.faults:
            ending = self.sessions.of_user(session.user)
        for ended in ending:
            self.sessions.end(ended)
            self._revoke_session_tokens(ended.sid)
        return ending

    def _revoke_session_tokens(self, sid: str) -> None:
        for token in self.tokens.of_session(sid):
            if token.type == "access_token":
                if "access-survives-logout" in self.faults:
                    continue
            elif token.grant.offline:
                # offline_access asks for access while the user is logged out (OIDC Core §11).
                continue
            elif "refresh-survives-logout" in self.faults:
                continue
            token.revoke("logout")
