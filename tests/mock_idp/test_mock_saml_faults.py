"""Every SAML fault of the catalog really changes what the mock's SAML IdP does, at the requirement it names."""

from collections.abc import Callable

from idp_client import BOB, SAML_SP1, SAML_SP2, Browser
from saml_sp import (
    PARTIAL_LOGOUT,
    REQUESTER,
    RESPONDER,
    SUCCESS,
    Delivered,
    Idp,
    Login,
    answer,
    delivered,
    idp_at,
    login,
    logout_request,
    send,
    send_as,
)

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]


def on(mock_with: MockWith, new_browser: NewBrowser, fault: str) -> tuple[Idp, Browser]:
    url = mock_with(fault)
    return idp_at(url), new_browser(url)


def both(browser: Browser, idp: Idp) -> tuple[Login, Login]:
    return login(browser, SAML_SP1, idp), login(browser, SAML_SP2, idp, binding="post")


def sp1_logs_out(
    browser: Browser, idp: Idp, first: Login, **overrides: object
) -> tuple[str, Delivered]:
    """sp1's signed LogoutRequest for this login (overrides change it), and what the IdP answers."""
    request_id, xml = logout_request(SAML_SP1, idp, first, **overrides)  # type: ignore[arg-type]
    return request_id, delivered(
        send_as(browser, SAML_SP1, "SAMLRequest", xml, relay_state="rs"), idp
    )


def test_fault_saml_no_session_index(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-no-session-index")
    assert login(browser, SAML_SP1, idp).session_index is None


def test_fault_saml_accept_unsigned_logout(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-accept-unsigned-logout")
    first = login(browser, SAML_SP1, idp)
    _, xml = logout_request(SAML_SP1, idp, first)
    done = delivered(send(browser, "SAMLRequest", xml), idp)
    assert done.status() == (SUCCESS, None)
    assert not browser.has_session()


def test_fault_saml_accept_bad_signature(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-accept-bad-signature")
    first = login(browser, SAML_SP1, idp)
    _, xml = logout_request(SAML_SP1, idp, first)
    assert delivered(send(browser, "SAMLRequest", xml), idp).status()[0] == REQUESTER
    done = delivered(send(browser, "SAMLRequest", xml, signer=SAML_SP2), idp)
    assert done.status() == (SUCCESS, None)
    assert not browser.has_session()


def test_fault_saml_ignore_session_index(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-ignore-session-index")
    other = new_browser(browser.base_url)
    first = login(browser, SAML_SP1, idp)
    login(other, SAML_SP1, idp)
    _, done = sp1_logs_out(browser, idp, first, session_indexes=["_unknown"])
    assert done.status() == (SUCCESS, None)
    assert not browser.has_session() and not other.has_session()


def test_fault_saml_nameid_mismatch_logout(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-nameid-mismatch-logout")
    first = login(browser, SAML_SP1, idp)
    _, done = sp1_logs_out(browser, idp, first, name_id=BOB.sub)
    assert done.status() == (SUCCESS, None)
    assert not browser.has_session()


def test_fault_saml_partial_top_level(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-partial-top-level")
    first, _ = both(browser, idp)
    _, to_sp2 = sp1_logs_out(browser, idp, first)
    done = delivered(answer(browser, SAML_SP2, idp, to_sp2, RESPONDER), idp)
    assert done.status() == (PARTIAL_LOGOUT, None)


def test_fault_saml_skip_participant(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-skip-participant")
    first, _ = both(browser, idp)
    _, done = sp1_logs_out(browser, idp, first)
    assert (done.endpoint, done.kind) == (SAML_SP1.slo_url, "SAMLResponse")  # sp2 never told
    assert done.status() == (SUCCESS, None)


def test_fault_saml_propagate_no_expiry(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-propagate-no-expiry")
    first, _ = both(browser, idp)
    _, to_sp2 = sp1_logs_out(browser, idp, first)
    assert to_sp2.endpoint == SAML_SP2.slo_url and to_sp2.signed
    assert to_sp2.root.get("NotOnOrAfter") is None


def test_fault_saml_relaystate_altered(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-relaystate-altered")
    first = login(browser, SAML_SP1, idp)
    _, done = sp1_logs_out(browser, idp, first)
    assert done.status() == (SUCCESS, None) and done.relay_state not in (None, "rs")


def test_fault_saml_unsigned_logout_response(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-unsigned-logout-response")
    first, _ = both(browser, idp)
    _, to_sp2 = sp1_logs_out(browser, idp, first)
    assert to_sp2.signed  # requests are still signed
    done = delivered(answer(browser, SAML_SP2, idp, to_sp2), idp)
    assert done.status() == (SUCCESS, None) and not done.has_signature


def test_fault_saml_wrong_in_response_to(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-wrong-in-response-to")
    first = login(browser, SAML_SP1, idp)
    request_id, done = sp1_logs_out(browser, idp, first)
    assert done.status() == (SUCCESS, None)
    assert done.root.get("InResponseTo") not in (None, request_id)


def test_fault_saml_destination_unchecked(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-destination-unchecked")
    first = login(browser, SAML_SP1, idp)
    _, done = sp1_logs_out(browser, idp, first, destination="http://elsewhere.test/slo")
    assert done.status() == (SUCCESS, None)
    assert not browser.has_session()


def test_fault_saml_http_error_status(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-http-error-status")
    first = login(browser, SAML_SP1, idp)
    _, xml = logout_request(SAML_SP1, idp, first)
    step = send(browser, "SAMLRequest", xml, relay_state="rs")
    assert step.status_code == 400 and "location" not in step.headers
    assert "SAMLResponse" not in step.text
    assert browser.has_session()


def test_fault_saml_accept_replay(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-accept-replay")
    first = login(browser, SAML_SP1, idp)
    request_id, done = sp1_logs_out(browser, idp, first)
    assert done.status() == (SUCCESS, None)
    again = login(browser, SAML_SP1, idp)
    _, replayed = sp1_logs_out(browser, idp, again, request_id=request_id)
    assert replayed.status() == (SUCCESS, None)
    assert not browser.has_session()


def test_fault_saml_success_without_logout(mock_with: MockWith, new_browser: NewBrowser) -> None:
    idp, browser = on(mock_with, new_browser, "saml-success-without-logout")
    first = login(browser, SAML_SP1, idp)
    _, done = sp1_logs_out(browser, idp, first)
    assert done.status() == (SUCCESS, None)
    assert browser.has_session()
