"""Target files: the system under test, its roles, clients and users; secrets come from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import yamlsrc
from harness.errors import ConfigError
from harness.formwalker import FormRule

_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Secret:
    """A value held in an environment variable; read when needed, never stored in the target."""

    env: str
    file: str
    line: int | None

    def value(self) -> str:
        value = os.environ.get(self.env)
        if not value:
            raise ConfigError(f"environment variable {self.env} is not set (it holds a secret)", self.file, self.line)
        return value


@dataclass(frozen=True)
class Client:
    id: str
    redirect_uri: str
    secret: Secret | None = None
    auth_method: str = "client_secret_basic"
    post_logout_redirect_uri: str | None = None
    backchannel_logout_uri: str | None = None
    scope: str = "openid profile"
    id_token_alg: str = "RS256"
    id_token_lifetime: int | None = None


@dataclass(frozen=True)
class User:
    username: str
    password: Secret | None = None


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    clients: tuple[Client, ...]
    users: tuple[User, ...]
    login_forms: tuple[FormRule, ...] = ()
    login_max_steps: int = 12
    logout_confirmation: FormRule | None = None

    def client(self, client_id: str) -> Client:
        for client in self.clients:
            if client.id == client_id:
                return client
        raise ConfigError(f"the target has no client {client_id!r} (it has {', '.join(c.id for c in self.clients)})")


@dataclass(frozen=True)
class Launch:
    """How the harness starts part of the target for a run (it announces its URL on one stdout line)."""

    command: tuple[str, ...]
    ready: str
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0


@dataclass(frozen=True)
class KeyPair:
    """A named key pair on disk: one of the harness's SAML SP actors (endpoints under the callback
    base), or the mock IdP's SAML signing key."""

    name: str
    key_file: str
    cert_file: str

    def key_pem(self) -> str:
        return _read(self.key_file)

    def cert_pem(self) -> str:
        return _read(self.cert_file)


@dataclass(frozen=True)
class SamlIdp:
    metadata_url: str | None = None
    users: tuple[User, ...] = ()
    login_forms: tuple[FormRule, ...] = ()
    login_max_steps: int = 12
    initiate_logout: str | None = None


@dataclass(frozen=True)
class SamlApp:
    """Role saml-sp: the SP application under test; paths resolve against the launched app's URL."""

    metadata_url: str
    login_url: str
    protected_url: str
    logout_url: str | None = None
    alive_status: int = 200
    alive_contains: str | None = None
    launch: Launch | None = None


@dataclass(frozen=True)
class SamlSettings:
    idp: SamlIdp
    sps: tuple[KeyPair, ...] = ()
    app: SamlApp | None = None


@dataclass(frozen=True)
class Target:
    name: str
    file: str
    roles: tuple[str, ...]
    oidc: OidcSettings | None = None
    saml: SamlSettings | None = None
    mock_faults: tuple[str, ...] | None = None
    #: the mock's SAML signing key and certificate files, shared with the harness (test keys)
    mock_saml_key: KeyPair | None = None
    callback_base: str = "http://127.0.0.1:9481"
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    @property
    def is_mock(self) -> bool:
        return self.mock_faults is not None

    def secrets(self) -> list[Secret]:
        """Every secret the target file names (clients and users)."""
        found: list[Secret] = []
        if self.oidc:
            found += [c.secret for c in self.oidc.clients if c.secret]
            found += [u.password for u in self.oidc.users if u.password]
        if self.saml:
            found += [u.password for u in self.saml.idp.users if u.password]
        return found

    def require_secrets(self) -> None:
        """Refuse to start when a secret the file names is not in the environment (the mock makes up its own).

        Checked before any scenario runs: otherwise an unreachable target would hide the mistake
        (exit 3), or every scenario would break on it one by one.
        """
        if self.is_mock:
            return
        unset = [s for s in self.secrets() if not os.environ.get(s.env)]
        if unset:
            names = list(dict.fromkeys(s.env for s in unset))
            what = f"environment variable {names[0]} is not set (it holds a secret)" if len(names) == 1 else \
                f"environment variables {', '.join(names)} are not set (they hold secrets)"
            raise ConfigError(what, unset[0].file, unset[0].line)


def load(path: str | Path) -> Target:
    """Read, expand and validate a target file; every error says file and line."""
    doc = yamlsrc.load(path)
    data = _expand(doc, doc.data, ())
    doc = yamlsrc.Document(data, doc.file, doc.lines)
    yamlsrc.validate(doc, "target")
    return _build(doc)


def _expand(doc: yamlsrc.Document, value: Any, path: yamlsrc.JsonPath) -> Any:
    if isinstance(value, dict):
        return {k: _expand(doc, v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(doc, v, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is None:
                raise doc.error(path, f"environment variable {name} is not set and has no default")
            return default
        return _VAR.sub(sub, value)
    return value


def _rule(doc: yamlsrc.Document, raw: dict[str, Any], path: yamlsrc.JsonPath) -> FormRule:
    submit = raw.get("submit")
    try:
        return FormRule(
            name=raw["name"],
            fields=tuple(raw.get("fields", ())),
            action=raw.get("action"),
            url=raw.get("url"),
            fill=dict(raw.get("fill", {})),
            submit=(submit["name"], submit["value"]) if submit else None,
        )
    except ConfigError as exc:  # a bad regular expression: say where it is
        raise doc.error(path, exc.message) from None


def _build(doc: yamlsrc.Document) -> Target:
    data = doc.data
    oidc = None
    if "oidc" in data:
        raw = data["oidc"]

        def secret(env: str | None, path: yamlsrc.JsonPath) -> Secret | None:
            return Secret(env, doc.file, doc.line_of(path)) if env else None

        clients = tuple(
            Client(
                id=c["id"],
                redirect_uri=c["redirect_uri"],
                secret=secret(c.get("secret_env"), ("oidc", "clients", i, "secret_env")),
                auth_method=c.get("auth_method", "client_secret_basic"),
                post_logout_redirect_uri=c.get("post_logout_redirect_uri"),
                backchannel_logout_uri=c.get("backchannel_logout_uri"),
                scope=c.get("scope", "openid profile"),
                id_token_alg=c.get("id_token_alg", "RS256"),
                id_token_lifetime=c.get("id_token_lifetime"),
            )
            for i, c in enumerate(raw["clients"])
        )
        _unique(doc, [c.id for c in clients], ("oidc", "clients"), "id", "client")
        users = _users(doc, raw["users"], ("oidc", "users"))
        login = raw.get("login", {})
        confirmation = raw.get("logout_confirmation")
        oidc = OidcSettings(
            issuer=raw["issuer"].rstrip("/"),
            clients=clients,
            users=users,
            login_forms=tuple(_rule(doc, r, ("oidc", "login", "forms", i))
                              for i, r in enumerate(login.get("forms", ()))),
            login_max_steps=login.get("max_steps", 12),
            logout_confirmation=_rule(doc, confirmation, ("oidc", "logout_confirmation")) if confirmation else None,
        )
    saml = _saml(doc) if "saml" in data else None
    for role, needs in (("saml-idp", "idp"), ("saml-sp", "app")):
        if role in data["roles"] and (saml is None or (needs == "app" and saml.app is None)):
            raise doc.error(("roles",), f"role {role} needs a 'saml.{needs}' section")
    if "oidc-op" in data["roles"] and oidc is None:
        raise doc.error(("roles",), "role oidc-op needs an 'oidc' section (issuer, clients, users)")
    mock = data.get("mock_idp")
    timeouts = data.get("timeouts", {})
    return Target(
        name=data["name"],
        file=doc.file,
        roles=tuple(data["roles"]),
        oidc=oidc,
        saml=saml,
        mock_faults=tuple(mock.get("faults", ())) if mock is not None else None,
        mock_saml_key=_mock_key(doc, mock) if mock is not None and "saml_key" in mock else None,
        callback_base=data.get("harness", {}).get("callback_base", "http://127.0.0.1:9481").rstrip("/"),
        connect_timeout=float(timeouts.get("connect", 3.0)),
        read_timeout=float(timeouts.get("read", 10.0)),
    )


def _read(path: str) -> str:
    try:
        return Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _unique(doc: yamlsrc.Document, values: list[str], path: yamlsrc.JsonPath, key: str, what: str) -> None:
    for i, value in enumerate(values):
        if values.index(value) != i:
            raise doc.error((*path, i, key), f"{what} {value!r} is listed twice")


def _users(doc: yamlsrc.Document, raw: list[dict[str, Any]], path: yamlsrc.JsonPath) -> tuple[User, ...]:
    return tuple(
        User(u["username"], Secret(u["password_env"], doc.file, doc.line_of((*path, i, "password_env")))
             if u.get("password_env") else None)
        for i, u in enumerate(raw)
    )


def _saml(doc: yamlsrc.Document) -> SamlSettings:
    raw = doc.data["saml"]
    base = Path(doc.file).resolve().parent

    def local(value: str, path: yamlsrc.JsonPath) -> str:
        resolved = base / value
        if not resolved.is_file():
            raise doc.error(path, f"file {value} not found (relative to {base})")
        return str(resolved)

    idp_raw = raw.get("idp", {})
    login = idp_raw.get("login", {})
    idp = SamlIdp(
        metadata_url=idp_raw.get("metadata_url"),
        users=_users(doc, idp_raw.get("users", []), ("saml", "idp", "users")),
        login_forms=tuple(_rule(doc, r, ("saml", "idp", "login", "forms", i))
                          for i, r in enumerate(login.get("forms", ()))),
        login_max_steps=login.get("max_steps", 12),
        initiate_logout=idp_raw.get("initiate_logout"),
    )
    sps = tuple(
        KeyPair(sp["name"], local(sp["key"], ("saml", "sps", i, "key")), local(sp["cert"], ("saml", "sps", i, "cert")))
        for i, sp in enumerate(raw.get("sps", []))
    )
    _unique(doc, [sp.name for sp in sps], ("saml", "sps"), "name", "SP actor")
    app = None
    if "app" in raw:
        a = raw["app"]
        launch = None
        if "launch" in a:
            la = a["launch"]
            launch = Launch(tuple(la["command"]), la["ready"], str(base / la.get("cwd", ".")),
                            dict(la.get("env", {})), float(la.get("timeout", 30)))
        relative = [k for k in ("metadata_url", "login_url", "protected_url", "logout_url")
                    if str(a.get(k, "")).startswith("/")]
        if relative and launch is None:
            raise doc.error(("saml", "app", relative[0]), "a path needs 'launch' (the app's URL comes from its ready line)")
        alive = a.get("alive", {})
        app = SamlApp(a["metadata_url"], a["login_url"], a["protected_url"], a.get("logout_url"),
                      alive.get("status", 200), alive.get("contains"), launch)
    return SamlSettings(idp, sps, app)


def _mock_key(doc: yamlsrc.Document, mock: dict[str, Any]) -> KeyPair:
    """The mock IdP's SAML key pair, held like an SP actor's (a name and two PEM files)."""
    base = Path(doc.file).resolve().parent
    files = []
    for key in ("saml_key", "saml_cert"):
        path = base / mock.get(key, "")
        if key not in mock or not path.is_file():
            raise doc.error(("mock_idp", key), f"mock_idp.{key}: file {mock.get(key)} not found (saml_key and saml_cert go together)")
        files.append(str(path))
    return KeyPair("mock-idp", files[0], files[1])
