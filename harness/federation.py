"""Federated logout through a chain of identity providers (Auth0's /v2/logout?federated): https://auth0.com/docs/authenticate/login/logout"""

from __future__ import annotations

from harness.checks import check
from harness.errors import Violation


@check("AUTH0-logout-session")
def session_cleared(label: str, alive: bool) -> None:
    if alive:
        raise Violation(expected=f"after /v2/logout, {label} is over (prompt=none fails)",
                        seen="prompt=none still returned an authorization code")


@check("AUTH0-federated")
def upstream_ended(label: str, alive: bool) -> None:
    if alive:
        raise Violation(expected=f"with federated, {label} is over too (prompt=none at the upstream fails)",
                        seen="prompt=none at the upstream still returned an authorization code")


@check("AUTH0-federated-return")
def reached(expected: str, went: str | None, hops: list[str]) -> None:
    """The browser, through every hop of the chain, ends at returnTo."""
    if went != expected:
        path = " -> ".join(hops[-6:]) or "no request"
        raise Violation(expected=f"the chain ends at returnTo {expected}",
                        seen=f"the browser went to {went or 'no other URL (it stayed on a page)'}; last hops: {path}")


@check("AUTH0-saml-session-index")
def session_index_sent(login_index: str | None, sent: tuple[str, ...] | None) -> str | None:
    """The LogoutRequest to the SAML upstream carries the SessionIndex of the login assertion."""
    if sent is None:
        raise Violation(expected="a LogoutRequest to the SAML upstream", seen="none was sent through the browser")
    if login_index is None:
        return ("the upstream's login assertion had no SessionIndex, so the LogoutRequest could not carry one "
                f"(it carried {len(sent)})")
    if login_index not in sent:
        raise Violation(expected=f"the LogoutRequest carries the login's SessionIndex {login_index!r}",
                        seen=f"SessionIndex values {list(sent) or 'none'}")
    return None
