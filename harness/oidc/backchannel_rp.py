"""OpenID Connect Back-Channel Logout 1.0, the RP's answer to a logout token: https://openid.net/specs/openid-connect-backchannel-1_0.html#BCResponse"""

from __future__ import annotations

from harness.checks import check
from harness.errors import Violation
from harness.oidc.logout_token import VARIANTS, Outcome

#: success as the spec words it, and the 204 it tells OPs to accept as well
SUCCESS = (200, 204)


@check("OIDCBCL-2.8-status")
def answer_status(described: str, acceptable: tuple[Outcome, ...], status: int) -> None:
    """200 (or 204) for a token the RP accepts, 400 for one it refuses; a refused huge body may be a 413."""
    if status in SUCCESS and "accept" in acceptable:
        return
    if "reject" in acceptable and (status == 400 or status == 413 and "accept" in acceptable):
        return
    wanted = {"accept": "200 OK (or 204)", "reject": "400 Bad Request"}
    raise Violation(expected=f"{described}: answered {' or '.join(wanted[a] for a in acceptable)}",
                    seen=f"HTTP {status}")


@check("OIDCBCL-2.8-cache")
def no_store(cache_control: str | None) -> None:
    directives = {part.strip().lower() for part in (cache_control or "").split(",")}
    if "no-store" not in directives:
        raise Violation(expected="the answer says Cache-Control: no-store",
                        seen=f"Cache-Control: {cache_control}" if cache_control else "no Cache-Control header")


@check("OIDCBCL-2.6-replay")
def replay_refused(status: int) -> str:
    if status in SUCCESS:
        raise Violation(expected="a logout token whose jti was seen before is refused (optional)",
                        seen=f"HTTP {status}: the same token was accepted twice")
    return f"the app refused the replayed logout token (HTTP {status})"


@check("OIDCBCL-2.8-status")
def answer_matches_session(status: int, alive: bool) -> None:
    """A 200 means the logout succeeded, a 400 that it failed: the app's session must agree."""
    if status in SUCCESS and alive:
        raise Violation(expected="after answering 200, the session the token names is over",
                        seen=f"HTTP {status}, and the session is still alive")
    if status not in SUCCESS and not alive:
        raise Violation(expected=f"after refusing the token (HTTP {status}), the session is still alive",
                        seen="the session ended all the same")


def _refused(described: str, status: int) -> None:
    """A token the RP must not accept is answered 400 (section 2.8), under the rule it breaks."""
    if status != 400:
        raise Violation(expected=f"{described}: refused with 400 Bad Request", seen=f"HTTP {status}")


#: by the requirement a forged token breaks: its refusal is judged at that requirement's level
REFUSED = {requirement: check(requirement)(_refused) for requirement in sorted(set(VARIANTS.values()))}
