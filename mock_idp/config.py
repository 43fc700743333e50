"""What the mock IdP serves: its registered clients and SAML SPs, its users, the Casdoor dialect's receivers, Auth0's allowed logout URLs, the upstream identity providers it chains to and the faults switched on."""

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from mock_idp.allowlist import AllowlistError, parse_list
from mock_idp.faults import check_fault_names

SIGNING_ALGS = ("RS256", "ES256")
# How a confidential client proves itself with its secret (RFC 6749 §2.3.1).
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
# "none": a public client (a browser app) that has no secret and names itself by client_id in the
# form (OIDC Core §9); it must use PKCE.
CLIENT_AUTH_METHODS = (*SECRET_AUTH_METHODS, "none")
LOGIN_PAGES = ("html", "script")
SAML_SLO_BINDINGS = ("redirect", "post")
# Connection names as Auth0 takes them; no "|", which separates them from the upstream id in a sub.
CONNECTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


class ConfigError(ValueError):
    """A mistake in the mock config, saying what and where."""


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    backchannel_logout_uri: str | None = None
    # The RP wants sid in its logout tokens (Back-Channel Logout 1.0 §2.2).
    backchannel_logout_session_required: bool = False
    id_token_signed_response_alg: str = "RS256"
    id_token_lifetime: int = 300
    token_endpoint_auth_method: str = "client_secret_basic"
    # Auth0's Allowed Logout URLs of the application (/v2/logout with client_id), comma-separated.
    allowed_logout_urls: str = ""
    # Rendered in an iframe of the OP's logged-out page (Front-Channel Logout 1.0 §2).
    frontchannel_logout_uri: str | None = None
    # The RP wants iss and sid added to its frontchannel_logout_uri (Front-Channel Logout 1.0 §2).
    frontchannel_logout_session_required: bool = False

    def __post_init__(self) -> None:
        _check_logout_urls(f"client {self.client_id!r}", self.allowed_logout_urls)
        # Back-Channel Logout 1.0 §2.2 and Front-Channel Logout 1.0 §2: absolute URIs without a
        # fragment; a query is allowed (and kept).
        for name in ("backchannel_logout_uri", "frontchannel_logout_uri"):
            uri = getattr(self, name)
            if uri is not None and not _is_http_url(uri):
                raise ConfigError(
                    f"client {self.client_id!r}: {name} must be an absolute http or https URL "
                    "without a fragment"
                )
        if self.id_token_signed_response_alg not in SIGNING_ALGS:
            raise ConfigError(
                f"client {self.client_id!r}: id_token_signed_response_alg must be one of "
                f"{', '.join(SIGNING_ALGS)}"
            )
        if self.token_endpoint_auth_method not in CLIENT_AUTH_METHODS:
            raise ConfigError(
                f"client {self.client_id!r}: token_endpoint_auth_method must be one of "
                f"{', '.join(CLIENT_AUTH_METHODS)}"
            )
        # A secret the client can't keep would be ignored; refusing it says so at once.
        if self.public and self.client_secret:
            raise ConfigError(
                f"client {self.client_id!r}: with token_endpoint_auth_method none (a public "
                "client) client_secret must be empty or absent"
            )

    @property
    def public(self) -> bool:
        """A client without a secret: it authenticates by client_id alone and must use PKCE."""
        return self.token_endpoint_auth_method == "none"


@dataclass(frozen=True)
class SamlSp:
    """A SAML 2.0 service provider: where its messages go and how its logout messages are protected."""

    entity_id: str
    acs_url: str
    slo_url: str
    cert_pem: str = ""
    # How the IdP sends it LogoutRequests and LogoutResponses: HTTP-Redirect or HTTP-POST.
    slo_binding: str = "redirect"
    # The IdP signs the logout messages it sends to this SP.
    sign_logout: bool = True
    # The IdP accepts this SP's logout messages only when signed with cert_pem.
    validate_logout: bool = True

    def __post_init__(self) -> None:
        if self.slo_binding not in SAML_SLO_BINDINGS:
            raise ConfigError(
                f"SAML SP {self.entity_id!r}: slo_binding must be one of "
                f"{', '.join(SAML_SLO_BINDINGS)}"
            )
        for name in ("entity_id", "acs_url", "slo_url"):
            if not getattr(self, name):
                raise ConfigError(f"SAML SP {self.entity_id!r}: {name} is empty")
        if self.validate_logout and not self.cert_pem:
            raise ConfigError(f"SAML SP {self.entity_id!r}: validate_logout needs cert_pem")
        if self.cert_pem:
            try:
                x509.load_pem_x509_certificate(self.cert_pem.encode())
            except ValueError as error:
                raise ConfigError(
                    f"SAML SP {self.entity_id!r}: cert_pem is not a PEM certificate"
                ) from error


@dataclass(frozen=True)
class User:
    username: str
    password: str
    sub: str
    claims: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CasdoorReceiver:
    """Where the Casdoor dialect POSTs its logout notifications; the client's secret signs them."""

    url: str
    client_id: str

    def __post_init__(self) -> None:
        if not _is_http_url(self.url):
            raise ConfigError(
                f"Casdoor receiver {self.url!r}: url must be an absolute http or https URL "
                "without a fragment"
            )


@dataclass(frozen=True)
class CasdoorSettings:
    """The Casdoor dialect: the organization users belong to and who hears of SSO logouts."""

    organization: str = "built-in"
    notification_receivers: list[CasdoorReceiver] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.organization:
            raise ConfigError("mock config: casdoor.organization is empty")


@dataclass(frozen=True)
class Auth0Settings:
    """The Auth0 dialect's tenant: its Allowed Logout URLs, for /v2/logout without client_id."""

    # Comma-separated, as Auth0's dashboard takes them.
    allowed_logout_urls: str = ""

    def __post_init__(self) -> None:
        _check_logout_urls("mock config: auth0", self.allowed_logout_urls)


@dataclass(frozen=True)
class OidcUpstream:
    """An enterprise connection to an OpenID Provider: the mock signs users in there as its RP."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    kind: str = "oidc"

    def __post_init__(self) -> None:
        _check_connection(self.name, self.kind, "oidc")
        # OIDC Discovery §4.1: the configuration is at the issuer plus a path, so no query.
        if not _is_http_url(self.issuer) or urlsplit(self.issuer).query:
            raise ConfigError(
                f"upstream {self.name!r}: issuer must be an absolute http or https URL without "
                "query or fragment"
            )
        for name in ("client_id", "client_secret"):
            if not getattr(self, name):
                raise ConfigError(f"upstream {self.name!r}: {name} is empty")


@dataclass(frozen=True)
class SamlUpstream:
    """An enterprise connection to a SAML IdP, described by the metadata at metadata_url."""

    name: str
    metadata_url: str
    kind: str = "saml"

    def __post_init__(self) -> None:
        _check_connection(self.name, self.kind, "saml")
        if not _is_http_url(self.metadata_url):
            raise ConfigError(
                f"upstream {self.name!r}: metadata_url must be an absolute http or https URL "
                "without a fragment"
            )


Upstream = OidcUpstream | SamlUpstream


@dataclass(frozen=True)
class MockConfig:
    clients: list[Client]
    users: list[User]
    faults: frozenset[str] = frozenset()
    saml_sps: list[SamlSp] = field(default_factory=list)
    #: the SAML IdP's signing key and certificate (PEM); made up at start when empty. A harness that
    #: must speak as this IdP to an SP app shares them.
    saml_key_pem: str = ""
    saml_cert_pem: str = ""
    #: the OP's signing keys as PEM, by alg (RS256, ES256); made up at start when absent. A harness
    #: that must sign logout tokens as this OP to an RP app shares them.
    oidc_keys_pem: dict[str, str] = field(default_factory=dict)
    casdoor: CasdoorSettings | None = None
    auth0: Auth0Settings | None = None
    #: the identity providers users may log in through (/authorize?connection=NAME).
    upstreams: list[Upstream] = field(default_factory=list)
    #: html: the login page holds its form; script: a script builds the same form, so only a real
    #: browser can sign in.
    login_page: str = "html"

    def __post_init__(self) -> None:
        if self.login_page not in LOGIN_PAGES:
            raise ConfigError(f"mock config: login_page must be one of {', '.join(LOGIN_PAGES)}")
        # Callers may pass any iterable of names (JSON gives a list); the config stays hashable.
        object.__setattr__(self, "faults", frozenset(self.faults))
        check_fault_names(self.faults)
        _check_unique("client_id", [client.client_id for client in self.clients])
        _check_unique("username", [user.username for user in self.users])
        _check_unique("sub", [user.sub for user in self.users])
        _check_unique("SAML entity_id", [sp.entity_id for sp in self.saml_sps])
        _check_unique("upstream name", [upstream.name for upstream in self.upstreams])
        for receiver in self.casdoor.notification_receivers if self.casdoor else []:
            # The receiver's client secret signs its notifications, so the client must exist.
            if self.client(receiver.client_id) is None:
                raise ConfigError(
                    f"mock config: casdoor receiver {receiver.url!r} names unknown client "
                    f"{receiver.client_id!r}"
                )

    def client(self, client_id: str) -> Client | None:
        return next((c for c in self.clients if c.client_id == client_id), None)

    def user(self, username: str) -> User | None:
        return next((u for u in self.users if u.username == username), None)

    def upstream(self, name: str) -> Upstream | None:
        return next((u for u in self.upstreams if u.name == name), None)

    @classmethod
    def from_json(cls, text: str) -> "MockConfig":
        """Parse a config; every mistake is a ConfigError (a ValueError) that says what and where."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"mock config is not valid JSON: {error}") from error
        if not isinstance(data, dict):
            raise ConfigError("mock config: expected a JSON object")
        _check_keys(
            "mock config",
            data,
            {
                "clients",
                "users",
                "faults",
                "saml_sps",
                "saml_key_pem",
                "saml_cert_pem",
                "oidc_keys_pem",
                "casdoor",
                "auth0",
                "upstreams",
                "login_page",
            },
            {"clients", "users"},
        )
        faults = data.get("faults", [])
        if not _is_str_list(faults):
            raise ConfigError("mock config: faults must be a list of strings")
        return cls(
            clients=[client_from_json(c, f"clients[{i}]") for i, c in _items(data, "clients")],
            users=[_build(User, item, f"users[{i}]") for i, item in _items(data, "users")],
            faults=frozenset(faults),
            saml_sps=[
                saml_sp_from_json(item, f"saml_sps[{i}]")
                for i, item in _items(data, "saml_sps", optional=True)
            ],
            saml_key_pem=_optional_str(data, "saml_key_pem"),
            saml_cert_pem=_optional_str(data, "saml_cert_pem"),
            oidc_keys_pem=_oidc_keys(data.get("oidc_keys_pem", {})),
            casdoor=_casdoor(data["casdoor"]) if "casdoor" in data else None,
            auth0=_build(Auth0Settings, data["auth0"], "auth0") if "auth0" in data else None,
            upstreams=[
                upstream_from_json(item, f"upstreams[{i}]")
                for i, item in _items(data, "upstreams", optional=True)
            ],
            login_page=_optional_str(data, "login_page") if "login_page" in data else "html",
        )

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "clients": [asdict(client) for client in self.clients],
            "users": [asdict(user) for user in self.users],
            "faults": sorted(self.faults),
            "saml_sps": [asdict(sp) for sp in self.saml_sps],
            "saml_key_pem": self.saml_key_pem,
            "saml_cert_pem": self.saml_cert_pem,
            "oidc_keys_pem": self.oidc_keys_pem,
            "login_page": self.login_page,
        }
        if self.casdoor is not None:
            data["casdoor"] = asdict(self.casdoor)
        if self.auth0 is not None:
            data["auth0"] = asdict(self.auth0)
        if self.upstreams:
            data["upstreams"] = [asdict(upstream) for upstream in self.upstreams]
        return json.dumps(data)


def client_from_json(data: object, where: str = "client") -> Client:
    """One Client from its JSON object (the config's clients items, the run-time registration).

    A public client (token_endpoint_auth_method none) may leave client_secret out.
    """
    if isinstance(data, dict) and data.get("token_endpoint_auth_method") == "none":
        data = {"client_secret": "", **data}
    client: Client = _build(Client, data, where)
    return client


def saml_sp_from_json(data: object, where: str = "SAML SP") -> SamlSp:
    """One SamlSp from its JSON object (the config's saml_sps items, the run-time registration)."""
    sp: SamlSp = _build(SamlSp, data, where)
    return sp


def upstream_from_json(data: object, where: str) -> Upstream:
    """One connection from its JSON object: its kind says which fields it has."""
    if not isinstance(data, dict):
        raise ConfigError(f"mock config: {where} must be an object")
    kinds: dict[object, type[Upstream]] = {
        "oidc": OidcUpstream,
        "saml": SamlUpstream,
    }
    kind = kinds.get(data.get("kind"))
    if kind is None:
        raise ConfigError(f"mock config: {where}.kind must be oidc or saml")
    upstream: Upstream = _build(kind, data, where)
    return upstream


def _check_connection(name: str, kind: str, expected: str) -> None:
    if not CONNECTION_NAME.fullmatch(name):
        raise ConfigError(
            f"upstream {name!r}: name must be letters, digits and inner hyphens (no |)"
        )
    if kind != expected:
        raise ConfigError(f"upstream {name!r}: kind must be {expected}")


def _check_unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"mock config: {what} {value!r} appears twice")
        seen.add(value)


def _check_keys(where: str, data: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = sorted(data.keys() - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}")
    missing = sorted(required - data.keys())
    if missing:
        raise ConfigError(f"{where}: missing field {missing[0]!r}")


def _items(data: dict[str, Any], key: str, optional: bool = False) -> list[tuple[int, Any]]:
    value = data.get(key, []) if optional else data[key]
    if not isinstance(value, list):
        raise ConfigError(f"mock config: {key} must be a list")
    return list(enumerate(value))


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:  # a malformed [IPv6] host
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and "#" not in value


def _check_logout_urls(where: str, urls: str) -> None:
    try:
        parse_list(urls)
    except AllowlistError as error:
        raise ConfigError(f"{where}: allowed_logout_urls: {error}") from error


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_str_dict(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


# The JSON type each field must have; the dataclasses' own annotations are strings at runtime.
_FIELD_CHECKS: dict[str, Any] = {
    "redirect_uris": _is_str_list,
    "post_logout_redirect_uris": _is_str_list,
    "backchannel_logout_uri": lambda v: v is None or isinstance(v, str),
    "backchannel_logout_session_required": lambda v: isinstance(v, bool),
    "frontchannel_logout_uri": lambda v: v is None or isinstance(v, str),
    "frontchannel_logout_session_required": lambda v: isinstance(v, bool),
    "id_token_lifetime": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "claims": _is_str_dict,
    "sign_logout": lambda v: isinstance(v, bool),
    "validate_logout": lambda v: isinstance(v, bool),
}


def _build(
    cls: type[Client]
    | type[User]
    | type[SamlSp]
    | type[CasdoorReceiver]
    | type[Auth0Settings]
    | type[OidcUpstream]
    | type[SamlUpstream],
    data: object,
    where: str,
) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"mock config: {where} must be an object")
    names = {f.name for f in fields(cls)}
    required = {
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    }
    _check_keys(f"mock config: {where}", data, names, required)
    for name, value in data.items():
        check = _FIELD_CHECKS.get(name, lambda v: isinstance(v, str))
        if not check(value):
            raise ConfigError(f"mock config: {where}.{name} has the wrong type")
    return cls(**data)


def _oidc_keys(value: object) -> dict[str, str]:
    if not _is_str_dict(value):
        raise ConfigError("mock config: oidc_keys_pem must map an alg to a PEM key")
    assert isinstance(value, dict)
    unknown = sorted(set(value) - set(SIGNING_ALGS))
    if unknown:
        raise ConfigError(f"mock config: oidc_keys_pem: {unknown[0]!r} is not one of {', '.join(SIGNING_ALGS)}")
    return dict(value)


def _casdoor(value: object) -> CasdoorSettings:
    if not isinstance(value, dict):
        raise ConfigError("mock config: casdoor must be an object")
    _check_keys("mock config: casdoor", value, {"organization", "notification_receivers"}, set())
    organization = value.get("organization", "built-in")
    if not isinstance(organization, str):
        raise ConfigError("mock config: casdoor.organization must be a string")
    receivers = value.get("notification_receivers", [])
    if not isinstance(receivers, list):
        raise ConfigError("mock config: casdoor.notification_receivers must be a list")
    return CasdoorSettings(
        organization,
        [
            _build(CasdoorReceiver, item, f"casdoor.notification_receivers[{i}]")
            for i, item in enumerate(receivers)
        ],
    )


def _optional_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"mock config: {key} must be a string")
    return value
