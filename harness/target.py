"""Target files: the system under test, its roles, clients and users; secrets come from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
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
    backchannel_logout_session_required: bool = False
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = False
    #: Auth0 dialect: the application's Allowed Logout URLs, comma-separated
    allowed_logout_urls: str = ""
    scope: str = "openid profile"
    id_token_alg: str = "RS256"
    id_token_lifetime: int | None = None


@dataclass(frozen=True)
class User:
    username: str
    password: Secret | None = None


@dataclass(frozen=True)
class OidcApp:
    """Role oidc-rp: the relying party application under test; paths resolve against the launched app's URL."""

    client_id: str
    secret: Secret | None
    login_url: str
    protected_url: str
    redirect_uri: str
    backchannel_logout_uri: str | None = None
    logout_url: str | None = None
    alive_status: int = 200
    alive_contains: str | None = None
    launch: Launch | None = None
    frontchannel_logout_uri: str | None = None


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    clients: tuple[Client, ...]
    users: tuple[User, ...]
    login_forms: tuple[FormRule, ...] = ()
    login_max_steps: int = 12
    logout_confirmation: FormRule | None = None
    #: many clients registered alike, for one logout that fans out to all of them
    fan_out: tuple[Client, ...] = ()
    app: OidcApp | None = None

    def client(self, client_id: str) -> Client:
        for client in (*self.clients, *self.fan_out):
            if client.id == client_id:
                return client
        raise ConfigError(f"the target has no client {client_id!r} (it has {', '.join(c.id for c in self.clients)})")


@dataclass(frozen=True)
class CasdoorReceiver:
    """A notification receiver the Casdoor-dialect IdP posts to; the client's secret signs what it gets."""

    url: str
    client_id: str


@dataclass(frozen=True)
class CasdoorSettings:
    """The Casdoor dialect: the IdP's SSO logout API and notification receivers, or an app's webhook."""

    organization: str = "built-in"
    sso_logout_url: str | None = None
    receivers: tuple[CasdoorReceiver, ...] = ()
    #: role casdoor-receiver: the app's notification webhook (a path on the launched app, or a URL)
    webhook_url: str | None = None


@dataclass(frozen=True)
class Auth0Settings:
    """The Auth0 dialect: its logout endpoint and the tenant's Allowed Logout URLs (comma-separated)."""

    logout_url: str | None = None
    allowed_logout_urls: str = ""


@dataclass(frozen=True)
class MockUpstream:
    """An upstream IdP the bundled mock is chained to (another mock process), as a named connection."""

    name: str
    kind: str
    faults: tuple[str, ...] = ()
    #: where it listens, once the run started it
    url: str = ""


@dataclass(frozen=True)
class ReturnTo:
    """A redirect-after-logout parameter of the target, which the open-redirect corpus is run against."""

    kind: str
    name: str
    url: str | None = None
    registered: str | None = None


@dataclass(frozen=True)
class PageAction:
    """Something the harness does in a page: click a CSS selector or run a script ({account} filled in)."""

    click: str | None = None
    script: str | None = None


@dataclass(frozen=True)
class SpaSettings:
    """Role spa: a browser app on an OIDC client library; paths resolve against the launched app's URL."""

    url: str
    client_id: str
    redirect_uri: str
    post_logout_redirect_uri: str
    #: text the page shows while {username} is signed in
    signed_in: str
    #: login, logout_redirect, and optionally logout_redirect_all and logout_popup
    actions: dict[str, PageAction]
    popup_redirect_uri: str | None = None
    main_window_redirect_uri: str | None = None
    launch: Launch | None = None


@dataclass(frozen=True)
class BrowserSettings:
    """The harness's browser: which steps need it, the Chromium binary, its bounds, when to keep traces."""

    steps: tuple[str, ...] = ()
    executable: str = "/usr/lib/chromium/chromium"
    timeout: float = 10.0
    trace: str = "on-failure"


@dataclass(frozen=True)
class BackchannelSettings:
    """Bounds for what the harness waits for at its callback receiver (seconds)."""

    #: every expected logout token or notification arrives within this
    deliver: float = 5.0
    #: after the expected ones arrived, how long nothing else may arrive
    quiet: float = 0.5
    #: resends after an error come at least this long after the previous attempt
    min_retry_delay: float = 0.5
    #: how long the harness watches for resends to an RP that answered with an error
    retry_window: float = 2.5


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
        return read_file(self.key_file)

    def cert_pem(self) -> str:
        return read_file(self.cert_file)


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
    #: upstream IdPs the harness starts and chains the mock to (Auth0-style enterprise connections)
    mock_upstreams: tuple[MockUpstream, ...] = ()
    #: html, or script: the mock's login form is built by JavaScript (only a browser can sign in)
    mock_login_page: str = "html"
    callback_base: str = "http://127.0.0.1:9481"
    #: what the callback receiver answers at a path (default 200), to play a failing RP
    receiver_answers: dict[str, int] = field(default_factory=dict)
    casdoor: CasdoorSettings | None = None
    auth0: Auth0Settings | None = None
    spa: SpaSettings | None = None
    browser: BrowserSettings = BrowserSettings()
    return_to: tuple[ReturnTo, ...] = ()
    backchannel: BackchannelSettings = BackchannelSettings()
    #: the mock OP's signing keys (PEM files by alg), shared with the harness to sign as that OP
    mock_oidc_keys: dict[str, str] = field(default_factory=dict)
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    #: role cli: the command-line tool under test
    cli: CliSettings | None = None

    @property
    def is_mock(self) -> bool:
        return self.mock_faults is not None

    def secrets(self) -> list[Secret]:
        """Every secret the target file names (clients and users)."""
        found: list[Secret] = []
        if self.oidc:
            found += [c.secret for c in (*self.oidc.clients, *self.oidc.fan_out[:1]) if c.secret]
            found += [u.password for u in self.oidc.users if u.password]
            if self.oidc.app and self.oidc.app.secret:
                found.append(self.oidc.app.secret)
        if self.saml:
            found += [u.password for u in self.saml.idp.users if u.password]
        if self.cli:
            found += self.cli.secrets()
        return found

    def callback_urls(self) -> list[str]:
        """Where the target calls the harness back (logout tokens, notifications): the receiver must run."""
        clients = (*self.oidc.clients, *self.oidc.fan_out) if self.oidc else ()
        urls = [c.backchannel_logout_uri for c in clients if c.backchannel_logout_uri]
        urls += [c.frontchannel_logout_uri for c in clients if c.frontchannel_logout_uri]
        urls += [r.url for r in self.casdoor.receivers] if self.casdoor else []
        return [url for url in urls if url.startswith(self.callback_base + "/")]

    def rebased(self, base: str) -> Target:
        """The target with every URL under callback_base moved to ``base`` (where the receiver really listens)."""
        old, base = self.callback_base, base.rstrip("/")

        def move(url: str | None) -> str | None:
            return base + url[len(old):] if url is not None and (url == old or url.startswith(old + "/")) else url

        def client(c: Client) -> Client:
            return replace(c, redirect_uri=move(c.redirect_uri) or "", post_logout_redirect_uri=move(c.post_logout_redirect_uri),
                           backchannel_logout_uri=move(c.backchannel_logout_uri),
                           frontchannel_logout_uri=move(c.frontchannel_logout_uri))

        oidc = replace(self.oidc, clients=tuple(map(client, self.oidc.clients)),
                       fan_out=tuple(map(client, self.oidc.fan_out))) if self.oidc else None
        casdoor = replace(self.casdoor, receivers=tuple(replace(r, url=move(r.url) or "") for r in self.casdoor.receivers)) \
            if self.casdoor else None
        return replace(self, oidc=oidc, casdoor=casdoor, callback_base=base)

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


def _secret(doc: yamlsrc.Document, env: str | None, path: yamlsrc.JsonPath) -> Secret | None:
    return Secret(env, doc.file, doc.line_of(path)) if env else None


def _client(doc: yamlsrc.Document, c: dict[str, Any], path: yamlsrc.JsonPath) -> Client:
    return Client(
        id=c["id"],
        redirect_uri=c["redirect_uri"],
        secret=_secret(doc, c.get("secret_env"), (*path, "secret_env")),
        auth_method=c.get("auth_method", "client_secret_basic"),
        post_logout_redirect_uri=c.get("post_logout_redirect_uri"),
        backchannel_logout_uri=c.get("backchannel_logout_uri"),
        backchannel_logout_session_required=c.get("backchannel_logout_session_required", False),
        frontchannel_logout_uri=c.get("frontchannel_logout_uri"),
        frontchannel_logout_session_required=c.get("frontchannel_logout_session_required", False),
        allowed_logout_urls=c.get("allowed_logout_urls", ""),
        scope=c.get("scope", "openid profile"),
        id_token_alg=c.get("id_token_alg", "RS256"),
        id_token_lifetime=c.get("id_token_lifetime"),
    )


def _fan_out(doc: yamlsrc.Document, raw: dict[str, Any] | None) -> tuple[Client, ...]:
    """``count`` clients from one template whose strings say ``{n}`` (1..count)."""
    if raw is None:
        return ()
    count = raw["count"]
    if isinstance(count, str):
        if not count.isdigit():
            raise doc.error(("oidc", "fan_out", "count"), f"count must be a number, got {count!r}")
        count = int(count)
    if not 1 <= count <= 10_000:
        raise doc.error(("oidc", "fan_out", "count"), f"count must be between 1 and 10000, got {count}")
    template = raw["client"]
    if "{n}" not in template["id"]:
        raise doc.error(("oidc", "fan_out", "client", "id"), "the id must contain {n}, so every client has its own")
    path = ("oidc", "fan_out", "client")
    return tuple(
        _client(doc, {k: v.replace("{n}", str(n)) if isinstance(v, str) and k != "secret_env" else v
                      for k, v in template.items()}, path)
        for n in range(1, count + 1)
    )


def _launch(doc: yamlsrc.Document, la: dict[str, Any]) -> Launch:
    base = Path(doc.file).resolve().parent
    return Launch(tuple(la["command"]), la["ready"], str(base / la.get("cwd", ".")),
                  dict(la.get("env", {})), float(la.get("timeout", 30)))


def _need_launch(doc: yamlsrc.Document, raw: dict[str, Any], keys: tuple[str, ...], path: yamlsrc.JsonPath) -> None:
    relative = [k for k in keys if str(raw.get(k, "")).startswith("/")]
    if relative and "launch" not in raw:
        raise doc.error((*path, relative[0]), "a path needs 'launch' (the app's URL comes from its ready line)")


def _oidc_app(doc: yamlsrc.Document, a: dict[str, Any] | None) -> OidcApp | None:
    if a is None:
        return None
    keys = ("login_url", "protected_url", "redirect_uri", "backchannel_logout_uri", "logout_url",
            "frontchannel_logout_uri")
    _need_launch(doc, a, keys, ("oidc", "app"))
    alive = a.get("alive", {})
    return OidcApp(a["client_id"], _secret(doc, a.get("secret_env"), ("oidc", "app", "secret_env")),
                   a["login_url"], a["protected_url"], a["redirect_uri"], a.get("backchannel_logout_uri"),
                   a.get("logout_url"), alive.get("status", 200), alive.get("contains"),
                   _launch(doc, a["launch"]) if "launch" in a else None, a.get("frontchannel_logout_uri"))


def _spa(doc: yamlsrc.Document, raw: dict[str, Any] | None) -> SpaSettings | None:
    if raw is None:
        return None
    keys = ("url", "redirect_uri", "post_logout_redirect_uri", "popup_redirect_uri", "main_window_redirect_uri")
    _need_launch(doc, raw, keys, ("spa",))
    actions = {name: PageAction(a.get("click"), a.get("script")) for name, a in raw["actions"].items()}
    return SpaSettings(raw["url"], raw["client_id"], raw["redirect_uri"], raw["post_logout_redirect_uri"],
                       raw["signed_in"], actions, raw.get("popup_redirect_uri"), raw.get("main_window_redirect_uri"),
                       _launch(doc, raw["launch"]) if "launch" in raw else None)


def _browser(raw: dict[str, Any] | None) -> BrowserSettings:
    raw = raw or {}
    defaults = BrowserSettings()
    return BrowserSettings(tuple(raw.get("steps", ())), raw.get("executable", defaults.executable),
                           float(raw.get("timeout", defaults.timeout)), raw.get("trace", defaults.trace))


def _casdoor(doc: yamlsrc.Document, raw: dict[str, Any] | None) -> CasdoorSettings | None:
    if raw is None:
        return None
    receivers = tuple(CasdoorReceiver(r["url"], r["client"]) for r in raw.get("receivers", ()))
    return CasdoorSettings(raw.get("organization", "built-in"), raw.get("sso_logout_url"), receivers,
                           raw.get("webhook_url"))


def _build(doc: yamlsrc.Document) -> Target:
    data = doc.data
    oidc = None
    if "oidc" in data:
        raw = data["oidc"]
        clients = tuple(_client(doc, c, ("oidc", "clients", i)) for i, c in enumerate(raw["clients"]))
        fan_out = _fan_out(doc, raw.get("fan_out"))
        _unique(doc, [c.id for c in clients], ("oidc", "clients"), "id", "client")
        if any(c.id in {f.id for f in fan_out} for c in clients):
            raise doc.error(("oidc", "fan_out", "client", "id"), "fan-out client ids collide with oidc.clients")
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
            fan_out=fan_out,
            app=_oidc_app(doc, raw.get("app")),
        )
    saml = _saml(doc) if "saml" in data else None
    casdoor = _casdoor(doc, data.get("casdoor"))
    for role, needs in (("saml-idp", "idp"), ("saml-sp", "app")):
        if role in data["roles"] and (saml is None or (needs == "app" and saml.app is None)):
            raise doc.error(("roles",), f"role {role} needs a 'saml.{needs}' section")
    if "oidc-op" in data["roles"] and oidc is None:
        raise doc.error(("roles",), "role oidc-op needs an 'oidc' section (issuer, clients, users)")
    if "oidc-rp" in data["roles"] and (oidc is None or oidc.app is None):
        raise doc.error(("roles",), "role oidc-rp needs an 'oidc.app' section (the relying party under test)")
    if "casdoor-receiver" in data["roles"] and (casdoor is None or not casdoor.webhook_url or oidc is None
                                                or oidc.app is None):
        raise doc.error(("roles",), "role casdoor-receiver needs 'casdoor.webhook_url' and the app in 'oidc.app'")
    if "spa" in data["roles"] and "spa" not in data:
        raise doc.error(("roles",), "role spa needs a 'spa' section (the browser app under test)")
    if "cli" in data["roles"] and "cli" not in data:
        raise doc.error(("roles",), "role cli needs a 'cli' section (the command-line tool under test)")
    if "casdoor" in data["roles"] and (casdoor is None or oidc is None):
        raise doc.error(("roles",), "role casdoor needs a 'casdoor' section and an 'oidc' section")
    if casdoor and oidc:
        for i, r in enumerate(casdoor.receivers):
            if r.client_id not in {c.id for c in oidc.clients}:
                raise doc.error(("casdoor", "receivers", i, "client"), f"no client {r.client_id!r} in oidc.clients")
    mock = data.get("mock_idp")
    timeouts = data.get("timeouts", {})
    harness = data.get("harness", {})
    bc = timeouts.get("backchannel", {})
    defaults = BackchannelSettings()
    return Target(
        name=data["name"],
        file=doc.file,
        roles=tuple(data["roles"]),
        oidc=oidc,
        saml=saml,
        mock_faults=tuple(mock.get("faults", ())) if mock is not None else None,
        mock_saml_key=_mock_key(doc, mock) if mock is not None and "saml_key" in mock else None,
        mock_upstreams=tuple(MockUpstream(u["name"], u["kind"], tuple(u.get("faults", ())))
                             for u in (mock or {}).get("upstreams", ())),
        mock_login_page=(mock or {}).get("login_page", "html"),
        callback_base=harness.get("callback_base", "http://127.0.0.1:9481").rstrip("/"),
        receiver_answers={str(k): int(v) for k, v in harness.get("receiver_answers", {}).items()},
        casdoor=casdoor,
        auth0=Auth0Settings(data["auth0"].get("logout_url"), data["auth0"].get("allowed_logout_urls", ""))
        if "auth0" in data else None,
        spa=_spa(doc, data.get("spa")),
        browser=_browser(data.get("browser")),
        return_to=tuple(ReturnTo(r["kind"], r.get("name", r["kind"]), r.get("url"), r.get("registered"))
                        for r in data.get("return_to", ())),
        backchannel=BackchannelSettings(
            float(bc.get("deliver", defaults.deliver)), float(bc.get("quiet", defaults.quiet)),
            float(bc.get("min_retry_delay", defaults.min_retry_delay)),
            float(bc.get("retry_window", defaults.retry_window))),
        mock_oidc_keys=_mock_oidc_keys(doc, mock),
        connect_timeout=float(timeouts.get("connect", 3.0)),
        read_timeout=float(timeouts.get("read", 10.0)),
        cli=_cli(doc, data.get("cli"), oidc),
    )


def _mock_oidc_keys(doc: yamlsrc.Document, mock: dict[str, Any] | None) -> dict[str, str]:
    base = Path(doc.file).resolve().parent
    keys = {}
    for alg, file in ((mock or {}).get("oidc_keys") or {}).items():
        path = base / file
        if not path.is_file():
            raise doc.error(("mock_idp", "oidc_keys", alg), f"file {file} not found (relative to {base})")
        keys[alg] = str(path)
    return keys


def read_file(path: str) -> str:
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
        launch = _launch(doc, a["launch"]) if "launch" in a else None
        _need_launch(doc, a, ("metadata_url", "login_url", "protected_url", "logout_url"), ("saml", "app"))
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


# ---- role cli: a command-line tool under test ------------------------------------------------------

#: placeholders a cli command line may hold; secrets only ever go to the tool's environment
CLI_ARG_PLACEHOLDERS = ("python", "identity", "provider", "home")
CLI_ENV_PLACEHOLDERS = ("python", "issuer", "client_id", "client_secret", "username", "password", "faults", "home")
CLI_COMMANDS = ("login", "logout", "logout_all", "logout_provider", "logout_dry_run", "list", "status")
_CLI_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class CliIdentity:
    """One identity of a command-line tool and its authentication chain (provider first, itself last)."""

    name: str
    chain: tuple[str, ...]

    @property
    def provider(self) -> str:
        return self.chain[0]


@dataclass(frozen=True)
class CliSettings:
    """Role cli: how to run the tool, its identities, where it keeps credentials, its IdP."""

    program: tuple[str, ...]
    #: action -> arguments after program (login, logout, list and status at least)
    commands: dict[str, tuple[str, ...]]
    identities: tuple[CliIdentity, ...]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 20.0
    #: ~/... shell patterns of credential files and folders, and the keyring services it uses
    credential_paths: tuple[str, ...] = ()
    keyring_services: tuple[str, ...] = ()
    #: sandbox: the harness's file keyring (Python keyring); none: the harness sees files only
    keyring: str = "sandbox"
    list_shows: str = r"(?<![\w.@-]){identity}(?![\w.@-])"
    dry_run_item: str | None = None
    reminder: str | None = None
    issuer: str | None = None
    token_url: str | None = None
    revocations_url: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    user: User | None = None

    def secrets(self) -> list[Secret]:
        found = [self.client_secret] if self.client_secret else []
        return found + ([self.user.password] if self.user and self.user.password else [])


def _cli(doc: yamlsrc.Document, raw: dict[str, Any] | None, oidc: OidcSettings | None) -> CliSettings | None:
    """The cli section, with what the schema cannot say checked here (each error with its line)."""
    if raw is None:
        return None

    def placeholders(value: str, allowed: tuple[str, ...], path: yamlsrc.JsonPath) -> None:
        for name in _CLI_PLACEHOLDER.findall(value):
            if name in allowed:
                continue
            if name in ("password", "client_secret"):
                raise doc.error(path, f"{{{name}}} is a secret: it may go to cli.env only, never on a command line")
            raise doc.error(path, f"unknown placeholder {{{name}}} (allowed here: {', '.join(allowed)})")

    def regex(key: str, value: str | None, groups: tuple[str, ...] = ()) -> str | None:
        if value is None:
            return None
        try:
            compiled = re.compile(value.replace("{identity}", "x"), re.MULTILINE)
        except re.error as exc:
            raise doc.error(("cli", key), f"cli.{key} is not a regular expression: {exc}") from None
        if groups and not set(groups) & set(compiled.groupindex):
            raise doc.error(("cli", key), f"cli.{key} needs a named group {' or '.join(groups)}")
        return value

    for i, part in enumerate(raw["program"]):
        placeholders(part, CLI_ARG_PLACEHOLDERS, ("cli", "program", i))
    commands: dict[str, tuple[str, ...]] = {}
    for name, args in raw["commands"].items():
        for i, part in enumerate(args):
            placeholders(part, CLI_ARG_PLACEHOLDERS, ("cli", "commands", name, i))
        commands[name] = tuple(args)
    env = dict(raw.get("env", {}))
    for name, value in env.items():
        placeholders(value, CLI_ENV_PLACEHOLDERS, ("cli", "env", name))
    identities = []
    for i, entry in enumerate(raw["identities"]):
        chain = tuple(entry.get("chain", [entry["name"]]))
        if chain[-1] != entry["name"]:
            raise doc.error(("cli", "identities", i, "chain"),
                            f"the chain of {entry['name']!r} must end with the identity itself, not {chain[-1]!r}")
        if len(set(chain)) != len(chain):
            raise doc.error(("cli", "identities", i, "chain"), f"the chain of {entry['name']!r} names a step twice")
        identities.append(CliIdentity(entry["name"], chain))
    _unique(doc, [c.name for c in identities], ("cli", "identities"), "name", "identity")
    idp = raw.get("idp", {})
    issuer = idp.get("issuer", oidc.issuer if oidc else None)
    if issuer is None and any("{issuer}" in value for value in env.values()):
        raise doc.error(("cli", "env"), "cli.env uses {issuer}: give cli.idp.issuer (or an oidc section)")
    if idp.get("revocations_url"):
        placeholders(idp["revocations_url"], ("issuer",), ("cli", "idp", "revocations_url"))
    list_shows = raw.get("list_shows", CliSettings.list_shows)
    if "{identity}" not in list_shows:
        raise doc.error(("cli", "list_shows"), "cli.list_shows must contain {identity}")
    regex("list_shows", list_shows)
    user = raw.get("user")
    credentials = raw.get("credentials", {})
    return CliSettings(
        program=tuple(raw["program"]),
        commands=commands,
        identities=tuple(identities),
        cwd=str(Path(doc.file).resolve().parent / raw.get("cwd", ".")),
        env=env,
        timeout=float(raw.get("timeout", CliSettings.timeout)),
        credential_paths=tuple(credentials.get("paths", ())),
        keyring_services=tuple(credentials.get("keyring_services", ())),
        keyring=raw.get("keyring", "sandbox"),
        list_shows=list_shows,
        dry_run_item=regex("dry_run_item", raw.get("dry_run_item"), ("keyring", "path")),
        reminder=regex("reminder", raw.get("reminder")),
        # absent: the oidc issuer at run time (for the bundled mock, where it really listens)
        issuer=idp["issuer"].rstrip("/") if "issuer" in idp else None,
        token_url=idp.get("token_url"),
        revocations_url=idp.get("revocations_url"),
        client_id=idp.get("client_id"),
        client_secret=_secret(doc, idp.get("secret_env"), ("cli", "idp", "secret_env")),
        user=_users(doc, [user], ("cli", "user"))[0] if user else None,
    )
