"""The conformant mock's SAML IdP: metadata, SSO, SP- and IdP-initiated Single Logout with propagation, SOAP."""

import base64
import calendar
import json
import time
from collections.abc import Callable

import httpx
import pytest
from idp_client import (
    ALICE,
    BACK_CHANNEL,
    BOB,
    SAML_SP1,
    SAML_SP2,
    SAML_SP3,
    Browser,
    hidden_fields,
)
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from saml_sp import (
    PARTIAL_LOGOUT,
    PERSISTENT,
    REQUEST_DENIED,
    REQUESTER,
    RESPONDER,
    RSA_SHA1,
    SUCCESS,
    TRANSIENT,
    Idp,
    Login,
    answer,
    delivered,
    idp_at,
    key_of,
    login,
    logout_request,
    logout_response,
    redirect_query,
    request_data,
    send,
    send_as,
    settings,
    soap_answer,
    soap_call,
)

from mock_idp.config import ConfigError, MockConfig, SamlSp

MockWith = Callable[..., str]
NewBrowser = Callable[[str], Browser]
# 80 bytes, the most a sender may use (Bindings §3.4.3), with characters that need encoding.
RELAY = "r/ü+&=?% ~" * 7 + "r/ü+&=?%"
MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


@pytest.fixture(scope="session")
def idp(mock_url: str) -> Idp:
    return idp_at(mock_url)


def signed_in(browser: Browser, idp: Idp) -> tuple[Login, Login]:
    """Alice at sp1 (HTTP-Redirect, with the login form) then sp2 (HTTP-POST, transient, no form)."""
    first = login(browser, SAML_SP1, idp, login_form=True)
    second = login(
        browser, SAML_SP2, idp, binding="post", name_id_format=TRANSIENT, login_form=False
    )
    return first, second


def assert_refused(step: httpx.Response, idp: Idp, request_id: str, relay: str | None) -> None:
    """A LogoutResponse Requester/RequestDenied to sp1, never an HTTP error (Bindings §3.4.6)."""
    message = delivered(step, idp)
    assert (message.endpoint, message.kind) == (SAML_SP1.slo_url, "SAMLResponse")
    assert message.status() == (REQUESTER, REQUEST_DENIED)
    assert message.root.get("InResponseTo") == request_id
    assert message.relay_state == relay and message.signed


def expiry_of(message_root: object) -> float:
    text = message_root.get("NotOnOrAfter")  # type: ignore[attr-defined]
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


# Metadata and configuration


def test_metadata_describes_the_idp(idp: Idp, mock_url: str) -> None:
    answered = BACK_CHANNEL.get(mock_url + "/saml/metadata")
    assert answered.headers["content-type"].startswith("application/samlmetadata+xml")
    root = etree.fromstring(answered.content)
    assert root.get("entityID") == idp.entity_id == mock_url + "/saml/metadata"
    descriptor = root.find(MD + "IDPSSODescriptor")
    slo = {
        e.get("Binding").rsplit(":", 1)[1]: e.get("Location")
        for e in descriptor.iter(MD + "SingleLogoutService")
    }
    assert slo == {
        "HTTP-Redirect": mock_url + "/saml/slo",
        "HTTP-POST": mock_url + "/saml/slo",
        "SOAP": mock_url + "/saml/slo/soap",
    }
    assert {e.get("Location") for e in descriptor.iter(MD + "SingleSignOnService")} == {
        mock_url + "/saml/sso"
    }
    assert "BEGIN CERTIFICATE" in idp.cert


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"slo_binding": "artifact"}, "slo_binding must be one of redirect, post"),
        ({"cert_pem": ""}, "validate_logout needs cert_pem"),
        ({"cert_pem": "nope"}, "cert_pem is not a PEM certificate"),
        ({"sign_logout": "yes"}, r"saml_sps\[0\].sign_logout has the wrong type"),
        ({"acs_url": ""}, "acs_url is empty"),
        ({"extra": 1}, "unknown field 'extra'"),
    ],
)
def test_saml_sp_config_mistakes_say_what(item: dict[str, object], message: str) -> None:
    sp = {
        "entity_id": "http://x.test/md",
        "acs_url": "http://x.test/acs",
        "slo_url": "http://x.test/slo",
        "cert_pem": SAML_SP1.cert_pem,
        **item,
    }
    with pytest.raises(ConfigError, match=message):
        MockConfig.from_json(json.dumps({"clients": [], "users": [], "saml_sps": [sp]}))


def test_an_sp_registered_at_run_time_can_log_in(
    mock_with: MockWith, new_browser: NewBrowser
) -> None:
    url = mock_with()
    idp = idp_at(url)
    late = SamlSp(
        entity_id="http://sp1.test/late",
        acs_url="http://sp1.test/late/acs",
        slo_url="http://sp1.test/late/slo",
        cert_pem=SAML_SP1.cert_pem,
    )
    auth = OneLogin_Saml2_Auth(request_data(late.acs_url), settings(late, idp))
    assert new_browser(url).http.get(auth.login()).status_code == 400
    body = {name: getattr(late, name) for name in ("entity_id", "acs_url", "slo_url", "cert_pem")}
    registered = BACK_CHANNEL.post(url + "/_mock/saml/sps", json=body)
    assert registered.status_code == 201 and registered.json() == {"entity_id": late.entity_id}
    # bob: the other tests on this mock log alice out of every SP she is in
    assert login(new_browser(url), late, idp, BOB).name_id == BOB.sub
    refused = BACK_CHANNEL.post(url + "/_mock/saml/sps", json={"entity_id": "x"})
    assert refused.status_code == 400 and "missing field" in refused.json()["error"]
    assert BACK_CHANNEL.post(url + "/_mock/saml/sps", content=b"{").status_code == 400


# Web Browser SSO


def test_sso_redirect_shows_the_login_form_then_posts_a_signed_assertion(
    browser: Browser, idp: Idp
) -> None:
    auth = OneLogin_Saml2_Auth(request_data(SAML_SP1.acs_url), settings(SAML_SP1, idp))
    page = browser.http.get(auth.login(return_to=RELAY))
    assert page.status_code == 200 and 'action="/login"' in page.text
    form = browser.submit_login(page, ALICE)
    assert form.status_code == 200 and "op_session=" in form.headers["set-cookie"]
    assert f'<form method="post" action="{SAML_SP1.acs_url}">' in form.text
    fields = hidden_fields(form.text)
    assert set(fields) == {"SAMLResponse", "RelayState"} and fields["RelayState"] == RELAY
    sp = OneLogin_Saml2_Auth(request_data(SAML_SP1.acs_url, post=fields), settings(SAML_SP1, idp))
    sp.process_response(request_id=auth.get_last_request_id())
    assert not sp.get_errors(), sp.get_last_error_reason()
    assert (sp.get_nameid(), sp.get_nameid_format()) == (ALICE.sub, PERSISTENT)
    assert sp.get_session_index()
    assert sp.get_attributes() == {
        "uid": ["alice"],
        "name": ["Alice"],
        "email": ["alice@example.test"],
    }


def test_sso_post_reuses_the_session_and_honours_the_nameid_format(
    browser: Browser, idp: Idp
) -> None:
    _, second = signed_in(browser, idp)
    assert (second.name_id, second.name_id_format) == (ALICE.sub, TRANSIENT)
    assert second.relay_state == "rs-login" and second.session_index


def test_one_login_serves_oidc_and_saml(
    browser: Browser, idp: Idp, new_browser: NewBrowser
) -> None:
    browser.sign_in()
    login(browser, SAML_SP1, idp, login_form=False)
    other = new_browser(browser.base_url)
    login(other, SAML_SP2, idp, login_form=True)
    assert other.has_session()


def test_session_index_is_one_per_session_and_sp(
    browser: Browser, idp: Idp, new_browser: NewBrowser
) -> None:
    first, second = signed_in(browser, idp)
    again = login(browser, SAML_SP1, idp, login_form=False)
    elsewhere = login(new_browser(browser.base_url), SAML_SP1, idp)
    assert first.session_index == again.session_index
    assert len({first.session_index, second.session_index, elsewhere.session_index}) == 3


def test_sso_refuses_unknown_sps_and_foreign_acs(browser: Browser, idp: Idp) -> None:
    stranger = SamlSp(
        "http://sp1.test/stranger",
        "http://stranger.test/acs",
        "http://stranger.test/slo",
        SAML_SP1.cert_pem,
    )
    auth = OneLogin_Saml2_Auth(request_data(stranger.acs_url), settings(stranger, idp))
    assert browser.http.get(auth.login()).status_code == 400
    foreign = SamlSp(
        SAML_SP1.entity_id, "http://evil.test/acs", SAML_SP1.slo_url, SAML_SP1.cert_pem
    )
    auth = OneLogin_Saml2_Auth(request_data(foreign.acs_url), settings(foreign, idp))
    page = browser.http.get(auth.login())
    assert page.status_code == 400 and "evil.test" not in page.text


def test_is_passive_without_a_session_answers_no_passive(browser: Browser, idp: Idp) -> None:
    auth = OneLogin_Saml2_Auth(request_data(SAML_SP1.acs_url), settings(SAML_SP1, idp))
    message = delivered(browser.http.get(auth.login(is_passive=True)), idp)
    assert message.endpoint == SAML_SP1.acs_url and message.signed
    assert message.status() == (RESPONDER, "urn:oasis:names:tc:SAML:2.0:status:NoPassive")


# SP-initiated Single Logout


def test_sp_initiated_redirect_logout_propagates_then_answers(browser: Browser, idp: Idp) -> None:
    first, second = signed_in(browser, idp)
    # sp1 is python3-saml here: its own signed HTTP-Redirect LogoutRequest.
    sp1 = OneLogin_Saml2_Auth(request_data(SAML_SP1.slo_url), settings(SAML_SP1, idp))
    url = sp1.logout(RELAY, first.name_id, first.session_index, name_id_format=PERSISTENT)
    step = browser.http.get(url)
    assert 'op_session=""' in step.headers["set-cookie"]
    to_sp2 = delivered(step, idp)
    assert (to_sp2.endpoint, to_sp2.kind, to_sp2.binding) == (
        SAML_SP2.slo_url,
        "SAMLRequest",
        "post",
    )
    assert to_sp2.signed and to_sp2.relay_state is None
    assert to_sp2.root.get("Destination") == SAML_SP2.slo_url
    assert time.time() < expiry_of(to_sp2.root) <= time.time() + 301
    assert to_sp2.session_indexes() == [second.session_index]
    name_id = to_sp2.find("saml:NameID")
    assert (name_id.text, name_id.get("Format")) == (ALICE.sub, TRANSIENT)
    assert to_sp2.find("saml:Issuer").text == idp.entity_id
    to_sp1 = delivered(answer(browser, SAML_SP2, idp, to_sp2), idp)
    assert (to_sp1.endpoint, to_sp1.kind, to_sp1.binding) == (
        SAML_SP1.slo_url,
        "SAMLResponse",
        "redirect",
    )
    assert to_sp1.signed and to_sp1.relay_state == RELAY
    assert to_sp1.status() == (SUCCESS, None)
    assert to_sp1.root.get("InResponseTo") == sp1.get_last_request_id()
    # python3-saml as sp1 accepts the answer: signature, Destination, InResponseTo, Success.
    done = OneLogin_Saml2_Auth(to_sp1.request_data(), settings(SAML_SP1, idp))
    done.get_settings().get_security_data()["wantMessagesSigned"] = True
    done.process_slo(request_id=sp1.get_last_request_id())
    assert not done.get_errors(), done.get_last_error_reason()
    assert not browser.has_session()


def test_sp_initiated_post_logout_propagates_over_redirect(browser: Browser, idp: Idp) -> None:
    first, second = signed_in(browser, idp)
    request_id, xml = logout_request(SAML_SP2, idp, second)
    to_sp1 = delivered(send_as(browser, SAML_SP2, "SAMLRequest", xml, relay_state=RELAY), idp)
    assert (to_sp1.endpoint, to_sp1.binding, to_sp1.signed) == (SAML_SP1.slo_url, "redirect", True)
    assert to_sp1.session_indexes() == [first.session_index]
    # python3-saml as sp1 takes the LogoutRequest and answers with its signed LogoutResponse.
    sp1 = OneLogin_Saml2_Auth(to_sp1.request_data(), settings(SAML_SP1, idp))
    sp1.get_settings().get_security_data()["wantMessagesSigned"] = True
    reply = sp1.process_slo()
    assert not sp1.get_errors(), sp1.get_last_error_reason()
    to_sp2 = delivered(browser.http.get(reply), idp)
    assert (to_sp2.endpoint, to_sp2.binding, to_sp2.signed) == (SAML_SP2.slo_url, "post", True)
    assert to_sp2.status() == (SUCCESS, None) and to_sp2.relay_state == RELAY
    assert to_sp2.root.get("InResponseTo") == request_id
    assert not browser.has_session()


@pytest.mark.parametrize("failure", ["Responder", "signed by another key", "from another SP"])
def test_a_failing_participant_makes_it_a_partial_logout(
    browser: Browser, idp: Idp, failure: str
) -> None:
    first, _ = signed_in(browser, idp)
    request_id, xml = logout_request(SAML_SP1, idp, first)
    to_sp2 = delivered(send_as(browser, SAML_SP1, "SAMLRequest", xml, relay_state="p"), idp)
    if failure == "Responder":
        step = answer(browser, SAML_SP2, idp, to_sp2, RESPONDER)
    else:
        sp = SAML_SP1 if failure == "from another SP" else SAML_SP2
        reply = logout_response(sp, idp, to_sp2.root.get("ID"))
        step = send(browser, "SAMLResponse", reply, binding="post", signer=SAML_SP1)
    to_sp1 = delivered(step, idp)
    assert to_sp1.status() == (SUCCESS, PARTIAL_LOGOUT)
    assert to_sp1.root.get("InResponseTo") == request_id and to_sp1.relay_state == "p"
    assert not browser.has_session()


def test_a_logout_response_nobody_waits_for_is_refused(browser: Browser, idp: Idp) -> None:
    step = send_as(browser, SAML_SP1, "SAMLResponse", logout_response(SAML_SP1, idp, "_nothing"))
    assert step.status_code == 400


# What an SP's LogoutRequest must be


REFUSALS: dict[str, Callable[[Browser, Idp, Login], tuple[str, httpx.Response]]] = {}


def refusal(name: str) -> Callable[[Callable[..., tuple[str, httpx.Response]]], object]:
    def register(case: Callable[..., tuple[str, httpx.Response]]) -> object:
        REFUSALS[name] = case
        return case

    return register


@refusal("unsigned over HTTP-Redirect")
def _unsigned_redirect(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first)
    return request_id, send(browser, "SAMLRequest", xml, relay_state="v")


@refusal("unsigned over HTTP-POST")
def _unsigned_post(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first)
    return request_id, send(browser, "SAMLRequest", xml, binding="post", relay_state="v")


@refusal("signed by another SP's key (Redirect)")
def _other_key_redirect(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first)
    return request_id, send(browser, "SAMLRequest", xml, relay_state="v", signer=SAML_SP2)


@refusal("signed by another SP's key (POST)")
def _other_key_post(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first)
    step = send(browser, "SAMLRequest", xml, binding="post", relay_state="v", signer=SAML_SP2)
    return request_id, step


@refusal("signed with RSA-SHA1")
def _sha1(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first)
    step = send(browser, "SAMLRequest", xml, relay_state="v", signer=SAML_SP1, sig_alg=RSA_SHA1)
    return request_id, step


@refusal("RelayState changed after signing")
def _tampered_relay(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first)
    query = redirect_query("SAMLRequest", xml, "w", SAML_SP1)
    return request_id, browser.http.get(
        "/saml/slo?" + query.replace("RelayState=w", "RelayState=v")
    )


@refusal("wrong Destination")
def _destination(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first, destination=idp.url + "/elsewhere")
    return request_id, send_as(browser, SAML_SP1, "SAMLRequest", xml, relay_state="v")


@refusal("signed without Destination")
def _no_destination(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first, destination=None)
    return request_id, send_as(browser, SAML_SP1, "SAMLRequest", xml, relay_state="v")


@refusal("NameID of another principal")
def _other_principal(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first, name_id=BOB.sub)
    return request_id, send_as(browser, SAML_SP1, "SAMLRequest", xml, relay_state="v")


@refusal("past its NotOnOrAfter")
def _expired(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first, not_on_or_after=time.time() - 600)
    return request_id, send_as(browser, SAML_SP1, "SAMLRequest", xml, relay_state="v")


@refusal("changed after signing (POST)")
def _tampered_post(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    request_id, xml = logout_request(SAML_SP1, idp, first)
    signed = OneLogin_Saml2_Utils.add_sign(xml, key_of(SAML_SP1), SAML_SP1.cert_pem).decode()
    tampered = signed.replace(f">{first.session_index}<", ">_other<")
    assert tampered != signed
    form = {"SAMLRequest": base64.b64encode(tampered.encode()).decode(), "RelayState": "v"}
    return request_id, browser.http.post("/saml/slo", data=form)


@refusal("signed element wrapped in an unsigned one (XSW)")
def _wrapped(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    _, inner = logout_request(SAML_SP1, idp, first, session_indexes=["_unknown"])
    signed = OneLogin_Saml2_Utils.add_sign(inner, key_of(SAML_SP1), SAML_SP1.cert_pem).decode()
    signed = signed.split("?>", 1)[-1]  # no XML declaration inside
    request_id, outer = logout_request(SAML_SP1, idp, first)
    issuer_end = outer.index("</saml:Issuer>") + len("</saml:Issuer>")
    wrapped = (
        f"{outer[:issuer_end]}<samlp:Extensions>{signed}</samlp:Extensions>{outer[issuer_end:]}"
    )
    form = {"SAMLRequest": base64.b64encode(wrapped.encode()).decode(), "RelayState": "v"}
    return request_id, browser.http.post("/saml/slo", data=form)


@refusal("Issuer is another SP")
def _other_issuer(browser: Browser, idp: Idp, first: Login) -> tuple[str, httpx.Response]:
    # sp2 claims to be sp1: its signature is not sp1's.
    request_id, xml = logout_request(SAML_SP1, idp, first)
    return request_id, send_as(browser, SAML_SP2, "SAMLRequest", xml, relay_state="v")


@pytest.mark.parametrize("case", list(REFUSALS))
def test_an_invalid_logout_request_is_answered_request_denied(
    browser: Browser, idp: Idp, case: str
) -> None:
    first, _ = signed_in(browser, idp)
    request_id, step = REFUSALS[case](browser, idp, first)
    assert_refused(step, idp, request_id, "v")
    assert "set-cookie" not in step.headers
    assert browser.has_session()
    # nothing was logged out: sp2 is told nothing and the session still serves logins
    login(browser, SAML_SP1, idp, login_form=False)


def test_a_replayed_logout_request_is_refused(mock_with: MockWith, new_browser: NewBrowser) -> None:
    url = mock_with()
    idp, browser = idp_at(url), new_browser(url)
    first = login(browser, SAML_SP1, idp)
    request_id, xml = logout_request(SAML_SP1, idp, first)
    done = delivered(send_as(browser, SAML_SP1, "SAMLRequest", xml, relay_state="v"), idp)
    assert done.status() == (SUCCESS, None)
    again = login(browser, SAML_SP1, idp, login_form=True)
    assert again.session_index != first.session_index
    _, replay = logout_request(SAML_SP1, idp, again, request_id=request_id)
    assert_refused(
        send_as(browser, SAML_SP1, "SAMLRequest", replay, relay_state="v"), idp, request_id, "v"
    )
    assert browser.has_session()


def test_an_unknown_issuer_gets_an_error_page(browser: Browser, idp: Idp) -> None:
    first, _ = signed_in(browser, idp)
    _, xml = logout_request(SAML_SP1, idp, first, issuer="http://stranger.test/md")
    step = send_as(browser, SAML_SP1, "SAMLRequest", xml)
    assert step.status_code == 400 and "location" not in step.headers
    assert browser.has_session()


@pytest.mark.parametrize("body", ["SAMLRequest=%%%", "SAMLRequest=YWJj", "RelayState=x"])
def test_garbage_gets_an_error_page(browser: Browser, body: str) -> None:
    assert browser.http.get("/saml/slo?" + body).status_code == 400


# Which sessions a LogoutRequest ends


def test_an_unknown_session_index_ends_nothing(browser: Browser, idp: Idp) -> None:
    first, _ = signed_in(browser, idp)
    _, xml = logout_request(SAML_SP1, idp, first, session_indexes=["_unknown"])
    done = delivered(send_as(browser, SAML_SP1, "SAMLRequest", xml), idp)
    assert done.endpoint == SAML_SP1.slo_url and done.status() == (SUCCESS, None)
    assert browser.has_session()


def test_a_session_index_ends_only_its_session(
    mock_with: MockWith, new_browser: NewBrowser
) -> None:
    url = mock_with()
    idp, leaving, staying = idp_at(url), new_browser(url), new_browser(url)
    first = login(leaving, SAML_SP1, idp)
    login(staying, SAML_SP1, idp)
    _, xml = logout_request(SAML_SP1, idp, first)
    assert delivered(send_as(leaving, SAML_SP1, "SAMLRequest", xml), idp).status()[0] == SUCCESS
    assert not leaving.has_session() and staying.has_session()


def test_without_session_index_every_session_of_the_principal_ends(
    mock_with: MockWith, new_browser: NewBrowser
) -> None:
    url = mock_with()
    idp = idp_at(url)
    alice1, alice2, bob = new_browser(url), new_browser(url), new_browser(url)
    first = login(alice1, SAML_SP1, idp)
    login(alice2, SAML_SP2, idp)
    login(bob, SAML_SP1, idp, BOB)
    _, xml = logout_request(SAML_SP1, idp, first, session_indexes=[])
    # alice2's sp2 is told too, through the browser that asked
    to_sp2 = delivered(send_as(alice1, SAML_SP1, "SAMLRequest", xml), idp)
    assert to_sp2.endpoint == SAML_SP2.slo_url and to_sp2.kind == "SAMLRequest"
    done = delivered(answer(alice1, SAML_SP2, idp, to_sp2), idp)
    assert done.status() == (SUCCESS, None)
    assert not alice1.has_session() and not alice2.has_session() and bob.has_session()


# IdP-initiated logout and SOAP


def test_idp_initiated_logout_tells_every_participant_then_returns(
    browser: Browser, idp: Idp
) -> None:
    first, second = signed_in(browser, idp)
    step = browser.http.get("/saml/logout", params={"ReturnTo": "http://sp1.test/done?x=1"})
    assert 'op_session=""' in step.headers["set-cookie"]
    seen = {}
    for _ in range(2):
        message = delivered(step, idp)
        assert message.kind == "SAMLRequest" and message.signed
        seen[message.endpoint] = message.session_indexes()
        sp = SAML_SP1 if message.endpoint == SAML_SP1.slo_url else SAML_SP2
        step = answer(browser, sp, idp, message)
    assert seen == {
        SAML_SP1.slo_url: [first.session_index],
        SAML_SP2.slo_url: [second.session_index],
    }
    assert step.status_code == 302 and step.headers["location"] == "http://sp1.test/done?x=1"
    assert not browser.has_session()


def test_idp_initiated_logout_refuses_a_foreign_return_to(browser: Browser, idp: Idp) -> None:
    signed_in(browser, idp)
    step = browser.http.get("/saml/logout", params={"ReturnTo": "http://evil.test/"})
    assert step.status_code == 400
    assert browser.has_session()


def test_idp_initiated_logout_without_a_session_just_returns(browser: Browser) -> None:
    step = browser.http.get("/saml/logout")
    assert step.status_code == 200 and "You are signed out" in step.text


def test_soap_logout_ends_the_session(browser: Browser, idp: Idp) -> None:
    first = login(browser, SAML_SP1, idp)
    request_id, xml = logout_request(SAML_SP1, idp, first, destination=idp.url + "/saml/slo/soap")
    done = soap_answer(soap_call(idp, xml, SAML_SP1), idp)
    assert done.signed and done.status() == (SUCCESS, None)
    assert done.root.get("InResponseTo") == request_id
    assert not browser.has_session()


def test_soap_logout_says_partial_when_participants_were_not_told(
    browser: Browser, idp: Idp
) -> None:
    first, _ = signed_in(browser, idp)
    _, xml = logout_request(SAML_SP1, idp, first, destination=None)
    done = soap_answer(soap_call(idp, xml, SAML_SP1), idp)
    assert done.status() == (SUCCESS, PARTIAL_LOGOUT)
    assert not browser.has_session()


def test_soap_refuses_an_unsigned_request_with_a_saml_error(browser: Browser, idp: Idp) -> None:
    first = login(browser, SAML_SP1, idp)
    request_id, xml = logout_request(SAML_SP1, idp, first, destination=None)
    done = soap_answer(soap_call(idp, xml, None), idp)
    assert done.status() == (REQUESTER, REQUEST_DENIED)
    assert done.root.get("InResponseTo") == request_id
    assert browser.has_session()
    fault = BACK_CHANNEL.post(idp.url + "/saml/slo/soap", content=b"<nope/>")
    assert fault.status_code == 500 and b"faultstring" in fault.content


def test_an_sp_without_signatures_gets_and_sends_unsigned_messages(
    browser: Browser, idp: Idp
) -> None:
    third = login(browser, SAML_SP3, idp, login_form=True)
    first = login(browser, SAML_SP1, idp, login_form=False)
    request_id, xml = logout_request(SAML_SP1, idp, first)
    to_sp3 = delivered(send_as(browser, SAML_SP1, "SAMLRequest", xml), idp)
    assert to_sp3.endpoint == SAML_SP3.slo_url and not to_sp3.has_signature
    assert to_sp3.session_indexes() == [third.session_index]
    unsigned = logout_response(SAML_SP3, idp, to_sp3.root.get("ID"))
    done = delivered(send(browser, "SAMLResponse", unsigned), idp)
    assert done.status() == (SUCCESS, None) and done.root.get("InResponseTo") == request_id
    # and sp3's own unsigned LogoutRequest is acted on
    again = login(browser, SAML_SP3, idp, login_form=True)
    request_id, xml = logout_request(SAML_SP3, idp, again)
    to_sp3 = delivered(send(browser, "SAMLRequest", xml), idp)
    assert to_sp3.status() == (SUCCESS, None) and not to_sp3.has_signature
    assert not browser.has_session()
