"""OpenID Connect Front-Channel Logout 1.0 checks, both sides (https://openid.net/specs/openid-connect-frontchannel-1_0.html).

The OP side is judged on what a real browser requested while it showed the OP's logged-out page: one
iframe document per RP of the session, with the RP's own query kept and iss and sid right, before the
page left for the RP's post_logout_redirect_uri. The RP side on what its logout URI answered and on
its storage afterwards (whether its session ended is ``harness/app_session.py``'s).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.checks import check
from harness.errors import Violation


@dataclass(frozen=True)
class FrameLoad:
    """An RP logout URI the browser loaded in an iframe: the request's URL and its place in the log."""

    client_id: str
    url: str
    seq: int

    @property
    def params(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key, value in parse_qsl(urlsplit(self.url).query, keep_blank_values=True):
            found.setdefault(key, []).append(value)
        return found


def base_of(uri: str) -> str:
    """A URI without its query and fragment: how the harness tells which RP an iframe request is for."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


# ---- the OP's side ------------------------------------------------------------------------------
@check("OIDCFCL-3-metadata")
def check_metadata(metadata: Mapping[str, Any]) -> None:
    supported = metadata.get("frontchannel_logout_supported")
    session = metadata.get("frontchannel_logout_session_supported")
    if supported is not True:
        raise Violation(expected="frontchannel_logout_supported: true in the discovery document (the OP renders "
                                 "front-channel logout URIs)", seen=f"frontchannel_logout_supported: {supported!r}")
    if session is not None and not isinstance(session, bool):
        raise Violation(expected="frontchannel_logout_session_supported as a boolean",
                        seen=f"frontchannel_logout_session_supported: {session!r}")


@check("OIDCFCL-3-session-sid")
def check_session_sid(metadata: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
    if metadata.get("frontchannel_logout_session_supported") is True and not isinstance(claims.get("sid"), str):
        raise Violation(expected="a sid claim in the ID token (frontchannel_logout_session_supported is true)",
                        seen=f"claims {sorted(claims)}")


def iframe_sources(page: str) -> list[str]:
    """The src of every iframe element in an HTML page (what the OP's logged-out page meant to load)."""
    class Frames(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.sources: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            src = dict(attrs).get("src")
            if tag == "iframe" and src:
                self.sources.append(src)

    parser = Frames()
    parser.feed(page)
    return parser.sources


@check("OIDCFCL-3-rendered")
def check_rendered(expected: Sequence[str], loads: Sequence[FrameLoad], in_page: Collection[str]) -> None:
    """Rendered: loaded from an iframe, or at least an iframe of the OP's page (one the page left too soon
    to load is OIDCFCL-3-before-redirect's)."""
    loaded = {load.client_id for load in loads}
    missing = [client for client in expected if client not in loaded and client not in in_page]
    if missing:
        raise Violation(expected=f"the logged-out page loads the front-channel logout URI of every RP of the session "
                                 f"({', '.join(expected)}) in an iframe",
                        seen=f"no iframe for {', '.join(missing)}"
                             + (f"; loaded: {', '.join(sorted(loaded))}" if loaded else "; no iframe at all"))


@check("OIDCFCL-2-iss-sid")
def check_iss_sid_together(load: FrameLoad) -> None:
    has = {name for name in ("iss", "sid") if name in load.params}
    if len(has) == 1:
        raise Violation(expected=f"{load.client_id}: iss and sid together, or neither",
                        seen=f"only {next(iter(has))} in {load.url}")


@check("OIDCFCL-2-values")
def check_values(load: FrameLoad, issuer: str, sid: str) -> None:
    params = load.params
    if "iss" in params and params["iss"] != [issuer]:
        raise Violation(expected=f"{load.client_id}: iss={issuer}", seen=f"iss={params['iss']}")
    if "sid" in params and params["sid"] != [sid]:
        raise Violation(expected=f"{load.client_id}: sid of the session its ID token named ({sid})",
                        seen=f"sid={params['sid']}")


@check("OIDCFCL-2-session-required")
def check_session_required(load: FrameLoad, required: bool) -> None:
    if required and not {"iss", "sid"} <= set(load.params):
        raise Violation(expected=f"{load.client_id} registered frontchannel_logout_session_required: iss and sid "
                                 "on its logout URI", seen=load.url)


@check("OIDCFCL-2-query")
def check_query_kept(load: FrameLoad, registered: str) -> None:
    wanted = parse_qsl(urlsplit(registered).query, keep_blank_values=True)
    got = parse_qsl(urlsplit(load.url).query, keep_blank_values=True)
    lost = [f"{k}={v}" for k, v in wanted if (k, v) not in got]
    if lost:
        raise Violation(expected=f"{load.client_id}: the registered query of {registered} kept when iss and sid "
                                 "are added", seen=f"{load.url} (lost {', '.join(lost)})")


@check("OIDCFCL-3-before-redirect")
def check_before_redirect(loads: Sequence[FrameLoad], in_page: Collection[str], redirect_seq: int | None,
                          redirect_uri: str) -> None:
    if redirect_seq is None:
        return
    early = {load.client_id for load in loads if load.seq < redirect_seq}
    late = sorted({*(load.client_id for load in loads), *in_page} - early)
    if late:
        raise Violation(expected=f"every front-channel logout URI requested before the browser left for {redirect_uri}",
                        seen=f"the page navigated to {redirect_uri} first; the iframes of {', '.join(late)} "
                             "were requested after it, or never (cancelled with the page)")


# ---- the RP's side ------------------------------------------------------------------------------
@check("OIDCFCL-2-rp-storage")
def check_rp_storage(written: Mapping[str, Mapping[str, str]], now: Mapping[str, Mapping[str, str]]) -> None:
    left = [f"{area}Storage[{key!r}]" for area, entries in written.items() for key in entries
            if key in now.get(area, {})]
    if left:
        raise Violation(expected="the storage the app wrote at login cleared by its logout URI",
                        seen=f"still there: {', '.join(left)}")


@check("OIDCFCL-2-rp-no-store")
def check_rp_no_store(headers: Mapping[str, str]) -> None:
    cache = headers.get("cache-control", "").lower()
    if "no-store" not in cache:
        raise Violation(expected="Cache-Control: no-cache, no-store (and Pragma: no-cache) on the logout URI's answer",
                        seen=f"Cache-Control: {headers.get('cache-control', '(none)')}")


@check("OIDCFCL-2-rp-logged-out")
def check_rp_logged_out(status: int | None, url: str) -> None:
    if status is None or not 200 <= status < 300:
        raise Violation(expected="already logged out counts as success: a 2xx answer",
                        seen=f"{url} answered {status if status is not None else 'nothing'}")


@check("OIDCFCL-2-rp-precision")
def check_rp_precision(other_alive: bool) -> None:
    if not other_alive:
        raise Violation(expected="the user's other session (another browser, another sid) still alive",
                        seen="it ended too: the app ended every session of the user")
