"""Front-Channel Logout 1.0 checks on their own: each passes on what a conformant party does, and fails
naming its requirement on the deviation it is there for."""

from __future__ import annotations

import pytest

from harness import app_session
from harness.oidc import frontchannel as fc

from .violations import violated

ISSUER = "https://op.example"
URI = "https://rp.example/fcl?tenant=blue"


def load(url: str, seq: int = 5, client: str = "rp1") -> fc.FrameLoad:
    return fc.FrameLoad(client, url, seq)


GOOD = load(f"{URI}&iss=https%3A%2F%2Fop.example&sid=s-1")


def test_metadata() -> None:
    fc.check_metadata({"frontchannel_logout_supported": True, "frontchannel_logout_session_supported": True})
    violated("OIDCFCL-3-metadata", fc.check_metadata, {})
    violated("OIDCFCL-3-metadata", fc.check_metadata, {"frontchannel_logout_supported": "true"})
    violated("OIDCFCL-3-metadata", fc.check_metadata,
          {"frontchannel_logout_supported": True, "frontchannel_logout_session_supported": "yes"})


def test_session_sid() -> None:
    fc.check_session_sid({"frontchannel_logout_session_supported": True}, {"sid": "s-1"})
    fc.check_session_sid({}, {})
    violated("OIDCFCL-3-session-sid", fc.check_session_sid, {"frontchannel_logout_session_supported": True}, {})


def test_rendered() -> None:
    fc.check_rendered(["rp1"], [GOOD], set())
    fc.check_rendered(["rp1", "rp2"], [GOOD], {"rp2"})  # in the page, never loaded: before-redirect's
    seen = violated("OIDCFCL-3-rendered", fc.check_rendered, ["rp1", "rp2"], [GOOD], set()).seen
    assert "rp2" in seen
    assert "no iframe at all" in violated("OIDCFCL-3-rendered", fc.check_rendered, ["rp1"], [], set()).seen


def test_iframe_sources() -> None:
    page = '<h1>out</h1><iframe src="https://rp.example/fcl?a=1&amp;iss=x" hidden></iframe><iframe></iframe>'
    assert fc.iframe_sources(page) == ["https://rp.example/fcl?a=1&iss=x"]


def test_iss_and_sid_together() -> None:
    fc.check_iss_sid_together(GOOD)
    fc.check_iss_sid_together(load(URI))
    violated("OIDCFCL-2-iss-sid", fc.check_iss_sid_together, load(f"{URI}&iss=x"))
    violated("OIDCFCL-2-iss-sid", fc.check_iss_sid_together, load(f"{URI}&sid=x"))


def test_values() -> None:
    fc.check_values(GOOD, ISSUER, "s-1")
    violated("OIDCFCL-2-values", fc.check_values, GOOD, ISSUER, "s-2")
    violated("OIDCFCL-2-values", fc.check_values, GOOD, "https://other.example", "s-1")
    violated("OIDCFCL-2-values", fc.check_values, load(f"{GOOD.url}&sid=s-1"), ISSUER, "s-1")  # twice


def test_session_required() -> None:
    fc.check_session_required(GOOD, True)
    fc.check_session_required(load(URI), False)
    violated("OIDCFCL-2-session-required", fc.check_session_required, load(URI), True)


def test_query_kept() -> None:
    fc.check_query_kept(GOOD, URI)
    fc.check_query_kept(load("https://rp.example/fcl?iss=a&sid=b"), "https://rp.example/fcl")
    assert "tenant=blue" in violated("OIDCFCL-2-query", fc.check_query_kept,
                                  load("https://rp.example/fcl?iss=a&sid=b"), URI).seen


def test_before_redirect() -> None:
    fc.check_before_redirect([GOOD], {"rp1"}, 9, "https://rp.example/bye")
    fc.check_before_redirect([GOOD], set(), None, "https://rp.example/bye")  # never left: nothing to order
    violated("OIDCFCL-3-before-redirect", fc.check_before_redirect, [GOOD, load(URI, 12, "rp2")], set(), 9,
          "https://rp.example/bye")
    # the page had both iframes but left before either was requested
    violated("OIDCFCL-3-before-redirect", fc.check_before_redirect, [], {"rp1", "rp2"}, 3, "https://rp.example/bye")


def test_rp_storage() -> None:
    written = {"local": {"app.profile": "x"}, "session": {"app.session": "y"}}
    fc.check_rp_storage(written, {"local": {"other": "z"}, "session": {}})
    seen = violated("OIDCFCL-2-rp-storage", fc.check_rp_storage, written, {"local": {"app.profile": "x"}}).seen
    assert "localStorage['app.profile']" in seen


def test_rp_no_store_and_logged_out() -> None:
    fc.check_rp_no_store({"cache-control": "no-cache, no-store"})
    violated("OIDCFCL-2-rp-no-store", fc.check_rp_no_store, {"cache-control": "public, max-age=3600"})
    violated("OIDCFCL-2-rp-no-store", fc.check_rp_no_store, {})
    fc.check_rp_logged_out(200, "u")
    fc.check_rp_logged_out(204, "u")
    violated("OIDCFCL-2-rp-logged-out", fc.check_rp_logged_out, 400, "u")
    violated("OIDCFCL-2-rp-logged-out", fc.check_rp_logged_out, None, "u")


def test_rp_precision() -> None:
    fc.check_rp_precision(True)
    violated("OIDCFCL-2-rp-precision", fc.check_rp_precision, False)


@pytest.mark.parametrize("requirement", sorted(app_session.OVER_IN_BROWSER))
def test_session_over_in_browser(requirement: str) -> None:
    check = app_session.OVER_IN_BROWSER[requirement]
    check(app_session.BrowserView(False, False, False, "/protected"))
    check(app_session.BrowserView(False, False, True, "/protected"))  # a dead cookie left behind is fine
    assert "browser" in violated(requirement, check, app_session.BrowserView(True, True, True, "/p")).seen
    seen = violated(requirement, check, app_session.BrowserView(False, True, False, "/p")).seen
    assert "cookie was removed" in seen and "replaying" in seen
