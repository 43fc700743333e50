"""Whether an app under test acted on a logout message: its session over, or alive, as the message deserved.

The Foundation suite checks only the HTTP status an RP answers with; these checks look at the app's
own protected page afterwards. One check per requirement, since the same observation proves a
different rule depending on the message that was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness import casdoor
from harness.casdoor import Outcome
from harness.checks import check
from harness.errors import Violation
from harness.oidc import logout_token


def _ended(label: str, alive: bool) -> None:
    if alive:
        raise Violation(expected=f"{label} is over: the protected page no longer answers to its cookie",
                        seen="the protected page still shows the signed-in user")


def _alive(label: str, alive: bool) -> None:
    if not alive:
        raise Violation(expected=f"{label} is still alive: the message must not end it",
                        seen="the protected page no longer shows the signed-in user: the session ended")


def _answered(what: str, acceptable: tuple[Outcome, ...], status: int) -> None:
    """A webhook's answer: 2xx when it accepts, 4xx when it refuses (no status is documented)."""
    if 200 <= status < 300 and "accept" in acceptable or 400 <= status < 500 and "reject" in acceptable:
        return
    wanted = " or ".join({"accept": "2xx (accepted)", "reject": "4xx (refused)"}[a] for a in acceptable)
    raise Violation(expected=f"{what}: answered {wanted}", seen=f"HTTP {status}")


@dataclass(frozen=True)
class BrowserView:
    """The app after a logout, seen from a real browser: its protected page asked with the browser's
    cookies, and with the cookies of the login replayed (a cookie removed from the browser but still
    good on the server is not a logout)."""

    browser_alive: bool
    replay_alive: bool
    cookie_kept: bool
    where: str


def _over_in_browser(view: BrowserView) -> None:
    if view.browser_alive:
        raise Violation(expected="the app's session is over: its protected page no longer served to the browser",
                        seen=f"{view.where} still shows the signed-in user to the browser")
    if view.replay_alive:
        kept = "the browser still holds the cookie" if view.cookie_kept else "the browser's cookie was removed"
        raise Violation(expected="the app's session is over: the old session cookie dead, not only removed from "
                                 "the browser", seen=f"{kept}, but replaying the old cookie still opens {view.where}")


def _per_requirement(fn: Callable[..., None], ids: Iterable[str]) -> dict[str, Callable[..., None]]:
    return {requirement: check(requirement)(fn) for requirement in sorted(set(ids))}


_REFUSALS = {*logout_token.VARIANTS.values(), *(v.requirement for v in casdoor.VARIANTS.values()),
             "CASDOOR-receiver-replay"}
#: the session named by a valid message is over
ENDED = _per_requirement(_ended, ["OIDCBCL-2.7-ends-session", "CASDOOR-receiver-precision"])
#: the session survived: a message it had to refuse, or one about another session
SURVIVED = _per_requirement(_alive, [*_REFUSALS, "OIDCBCL-2.7-precision", "CASDOOR-receiver-precision"])
#: a webhook answered as the message deserved
ANSWERED = _per_requirement(_answered, [*(v.requirement for v in casdoor.VARIANTS.values()),
                                        "CASDOOR-receiver-replay", "CASDOOR-receiver-precision"])
#: the session is over as a browser sees it (cookies gone or dead, protected page sends it to log in)
OVER_IN_BROWSER = _per_requirement(_over_in_browser, ["OIDCFCL-2-rp-logout", "OIDCFCL-4.1-third-party",
                                                      "OIDCBCL-2.7-ends-session", "SAML2INT-SDP-SP34"])
