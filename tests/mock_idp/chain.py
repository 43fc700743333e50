"""Two mocks chained for the federation tests: a downstream that logs users in through an upstream mock over OIDC and over SAML, and a browser that walks between them."""

import base64
import dataclasses
import re
import zlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urljoin, urlsplit

import httpx
from idp_client import ALICE, BACK_CHANNEL, CONFIG, TIMEOUT, User, hidden_fields
from lxml import etree

from mock_idp.config import MockConfig, OidcUpstream, SamlUpstream

OIDC = "upstream-oidc"
SAML = "upstream-saml"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {
    "md": MD,
    "ds": DS,
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
}
# A chain of a few hops, each a redirect or a form: far more means a loop.
MAX_STEPS = 20
_FORM = re.compile(r'<form method="post" action="([^"]*)">')
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class Chain:
    """A downstream mock chained to an upstream mock, where it is client_id."""

    downstream: str
    upstream: str
    client_id: str


def downstream_config(upstream: str, client_id: str, faults: frozenset[str]) -> MockConfig:
    return dataclasses.replace(
        CONFIG,
        faults=faults,
        upstreams=[
            OidcUpstream(OIDC, upstream, client_id, client_id + "-secret"),
            SamlUpstream(SAML, upstream + "/saml/metadata"),
        ],
    )


def register(chain: Chain) -> None:
    """What the harness does: register the downstream at the upstream by the mock-only hooks."""
    down = chain.downstream
    client = {
        "client_id": chain.client_id,
        "client_secret": chain.client_id + "-secret",
        "redirect_uris": [down + "/upstream/oidc/callback"],
        "post_logout_redirect_uris": [down + "/upstream/oidc/logged-out"],
    }
    answer = BACK_CHANNEL.post(chain.upstream + "/_mock/oidc/clients", json=client)
    assert answer.status_code == 201, answer.text
    sp = {
        "entity_id": down + "/upstream/saml/metadata",
        "acs_url": down + "/upstream/saml/acs",
        "slo_url": down + "/logout",
        "cert_pem": sp_metadata(down).cert_pem,
        "slo_binding": "redirect",
    }
    answer = BACK_CHANNEL.post(chain.upstream + "/_mock/saml/sps", json=sp)
    assert answer.status_code == 201, answer.text


@dataclass(frozen=True)
class SpMetadata:
    entity_id: str
    acs: list[tuple[str, str]]
    slo: list[tuple[str, str]]
    cert_pem: str


def sp_metadata(base_url: str) -> SpMetadata:
    """The downstream's SP metadata towards its upstreams, as served."""
    answer = BACK_CHANNEL.get(base_url + "/upstream/saml/metadata")
    assert answer.status_code == 200, answer.text
    root = etree.fromstring(answer.content, _PARSER)
    descriptor = root.find("md:SPSSODescriptor", NS)
    cert = descriptor.find("md:KeyDescriptor/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS).text
    body = "\n".join(re.findall(".{1,64}", "".join(cert.split())))
    return SpMetadata(
        root.get("entityID"),
        [
            (e.get("Binding"), e.get("Location"))
            for e in descriptor.findall("md:AssertionConsumerService", NS)
        ],
        [
            (e.get("Binding"), e.get("Location"))
            for e in descriptor.findall("md:SingleLogoutService", NS)
        ],
        f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n",
    )


@dataclass
class Walk:
    """Where the browser went: every response in order, and the URL it left the mocks for."""

    steps: list[httpx.Response]
    # Where the browser was about to go when the walk stopped: out of the mocks (the RP, returnTo),
    # or to the until URL; None when it stopped on a page.
    left_for: str | None

    @property
    def last(self) -> httpx.Response:
        return self.steps[-1]

    def urls(self) -> list[str]:
        return [str(step.request.url) for step in self.steps]

    def went_to(self, base_url: str) -> bool:
        return any(url.startswith(base_url + "/") for url in self.urls())

    def query(self) -> dict[str, str]:
        assert self.left_for is not None, self.last.text
        return dict(parse_qsl(urlsplit(self.left_for).query))

    def saml_messages(self, kind: str) -> list[bytes]:
        """The SAML messages of this kind that the browser carried, by redirect or by form."""
        found = []
        for step in self.steps:
            if step.request.method == "GET":
                raw = dict(
                    part.split("=", 1)
                    for part in step.request.url.query.decode().split("&")
                    if "=" in part
                )
                if kind in raw:
                    found.append(_inflate(unquote_plus(raw[kind])))
            elif f"{kind}=" in step.request.content.decode():
                form = dict(parse_qsl(step.request.content.decode()))
                found.append(base64.b64decode(form[kind]))
        return found


class ChainBrowser:
    """One cookie jar for both mocks, which must be on different hosts (cookies ignore ports).

    An upstream that logs a user out everywhere may send it through other downstreams too.
    """

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.http = httpx.Client(follow_redirects=False, timeout=TIMEOUT, verify=False)

    def close(self) -> None:
        self.http.close()

    def go(self, url: str, user: User = ALICE, confirm: str = "yes", until: str = "") -> Walk:
        """GET url, then do what the mocks ask: follow redirects, submit the SAML forms, sign in
        as user at a login form, answer a logout confirmation; until leaving the mocks, a page
        with nothing to do, or (when given) a request to a URL that starts with until."""
        return self.walk(self.http.get(url), user, confirm, until)

    def walk(
        self, response: httpx.Response, user: User = ALICE, confirm: str = "yes", until: str = ""
    ) -> Walk:
        steps = [response]
        while len(steps) < MAX_STEPS:
            here = str(response.url)
            if response.status_code in (302, 303):
                target = urljoin(here, response.headers["location"])
                if not _at_a_mock(target) or (until and target.startswith(until)):
                    return Walk(steps, target)
                response = self.http.get(target)
            elif response.status_code == 200 and (action := _FORM.findall(response.text)):
                target = urljoin(here, action[0])
                if until and target.startswith(until):
                    return Walk(steps, target)
                fields = hidden_fields(response.text)
                if "interaction" in fields:
                    fields |= {"username": user.username, "password": user.password}
                elif "logout_id" in fields:
                    fields["logout"] = confirm
                response = self.http.post(target, data=fields)
            else:
                return Walk(steps, None)
            steps.append(response)
        raise AssertionError(f"more than {MAX_STEPS} steps: {[str(s.url) for s in steps]}")

    def authorize(
        self, connection: str | None = None, user: User = ALICE, until: str = "", **params: str
    ) -> Walk:
        """An RP's authorization request at the downstream (rp-basic), through a connection."""
        request = {
            "response_type": "code",
            "client_id": "rp-basic",
            "redirect_uri": "http://rp.test/cb",
            "scope": "openid profile email",
            "state": "st-1",
            "nonce": "n-1",
            **params,
        }
        if connection is not None:
            request["connection"] = connection
        url = httpx.URL(self.chain.downstream + "/authorize", params=request)
        return self.go(str(url), user, until=until)

    def has_session_at(self, base_url: str) -> bool:
        """prompt=none as rp-basic at this mock gives a code."""
        walk = self.go(
            str(
                httpx.URL(
                    base_url + "/authorize",
                    params={
                        "response_type": "code",
                        "client_id": "rp-basic",
                        "redirect_uri": "http://rp.test/cb",
                        "scope": "openid",
                        "prompt": "none",
                    },
                )
            )
        )
        assert len(walk.steps) == 1, walk.urls()  # answered at once, not through the upstream
        query = walk.query()
        assert "code" in query or query.get("error") == "login_required", query
        return "code" in query

    def session_at(self, base_url: str) -> dict[str, str] | None:
        """{sid, sub} of the browser's OP session at this mock (the mock-only hook)."""
        answer = self.http.get(base_url + "/_mock/oidc/session")
        return answer.json() if answer.status_code == 200 else None

    def federated_logout(
        self, return_to: str | None = "https://app.example/bye", until: str = ""
    ) -> Walk:
        """Auth0's /v2/logout?federated at the downstream, returnTo in rp-basic's allowed list."""
        params = {"client_id": "rp-basic"} | ({"returnTo": return_to} if return_to else {})
        url = f"{self.chain.downstream}/v2/logout?federated&{httpx.QueryParams(params)}"
        return self.go(url, until=until)


def _at_a_mock(url: str) -> bool:
    """The mocks of the tests listen on loopback; the RPs and returnTo values are elsewhere."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost")


def _inflate(value: str) -> bytes:
    return zlib.decompress(base64.b64decode(value), wbits=-15)


def assertion_session_indexes(response: bytes) -> list[str]:
    """The SessionIndex of each AuthnStatement of a SAML Response that has one."""
    root = etree.fromstring(response, _PARSER)
    statements = root.iterfind(".//saml:AuthnStatement", NS)
    return [index for e in statements if (index := e.get("SessionIndex")) is not None]


def request_session_indexes(request: bytes) -> list[str]:
    """The SessionIndex elements of a LogoutRequest."""
    return [e.text for e in etree.fromstring(request, _PARSER).findall("samlp:SessionIndex", NS)]
