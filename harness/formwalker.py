"""Walk an identity provider's pages like a browser: follow its redirects and fill the forms it serves.

Which forms to fill, and with what, is configuration (``FormRule``, from the target file), not code:
one walker logs in to Keycloak, node oidc-provider or the bundled mock, and confirms their logouts.
Form submission follows https://html.spec.whatwg.org/multipage/form-control-infrastructure.html
(constructing the entry list), without scripts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode

import httpx

from harness.errors import ConfigError, TargetError
from harness.http import OddLocation
from harness.redact import REDACTOR

__all__ = ["FormRule", "WalkResult", "resume", "walk"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# "5; url=/next", "0;URL='/next'", "0, /next"
_REFRESH = re.compile(
    r"^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?(.*)$", re.IGNORECASE | re.DOTALL
)
_NOT_SUBMITTED = frozenset({"submit", "image", "reset", "button", "file"})


@dataclass(frozen=True)
class FormRule:
    """Which form to fill and how: every condition given must hold for a form to match.

    ``action`` and ``url`` are regular expressions searched in the form's resolved action URL
    and in the page URL; ``fill`` maps field names to templates over the walk's values
    (``{username}``); ``submit`` names the button to press, and a form without it does not match.
    """

    name: str
    fields: tuple[str, ...] = ()
    action: str | None = None
    url: str | None = None
    fill: Mapping[str, str] = field(default_factory=dict)
    submit: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        # a bad pattern from a target file must say so when loaded, not fail mid-walk
        for what, pattern in (("action", self.action), ("url", self.url)):
            if pattern is None:
                continue
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"form rule {self.name!r}: {what} is not a regular expression: {exc}"
                ) from exc


@dataclass
class WalkResult:
    """Where a walk ended and how it got there."""

    final_response: httpx.Response
    final_url: str
    external_redirect: str | None = None
    submitted: list[str] = field(default_factory=list)
    stopped_at: str | None = None
    pages: list[str] = field(default_factory=list)


@dataclass
class _Control:
    """An input, button, select or textarea, with the value it would submit."""

    tag: str
    type: str
    attrs: dict[str, str]
    value: str
    form: int | None = None

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")

    @property
    def is_submit(self) -> bool:
        if self.tag == "button":
            return self.type == "submit"
        return self.tag == "input" and self.type in ("submit", "image")


@dataclass
class _Form:
    """A form's attributes and the controls that belong to it."""

    attrs: dict[str, str]
    controls: list[_Control] = field(default_factory=list)


class _PageParser(HTMLParser):
    """Collects forms, their controls (also those outside with ``form=``), base and meta refresh."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.controls: list[_Control] = []
        self.base: str | None = None
        self.refresh: str | None = None
        self._open_form: int | None = None
        self._text_of: _Control | None = None  # textarea or option whose text is being read
        self._select: _Control | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs: dict[str, str] = {}
        for key, value in attr_list:
            attrs.setdefault(key, value or "")  # the first of repeated attributes wins, as in HTML
        if tag == "form":
            if self._open_form is None:  # nested forms are ignored by browsers
                self.forms.append(_Form(attrs))
                self._open_form = len(self.forms) - 1
        elif tag == "input":
            kind = attrs.get("type", "text").lower()
            default = "on" if kind in ("checkbox", "radio") else ""
            self._add(_Control(tag, kind, attrs, attrs.get("value", default)))
        elif tag == "button":
            self._add(
                _Control(tag, attrs.get("type", "submit").lower(), attrs, attrs.get("value", ""))
            )
        elif tag == "textarea":
            self._text_of = self._add(_Control(tag, "textarea", attrs, ""))
        elif tag == "select":
            self._select = self._add(_Control(tag, "select", attrs, ""))
            self._options = []
        elif tag == "option" and self._select is not None:
            self._end_option()  # the end tag of an option is optional
            self._options.append((attrs.get("value", ""), "selected" in attrs))
            if "value" not in attrs:
                self._text_of = _Control(tag, "option", attrs, "")
        elif tag == "base" and self.base is None and "href" in attrs:
            self.base = attrs["href"]
        elif tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            self.refresh = self.refresh or attrs.get("content")

    def handle_data(self, data: str) -> None:
        if self._text_of is not None:
            self._text_of.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open_form = None
        elif tag == "textarea":
            self._text_of = None
        elif tag == "option":
            self._end_option()
        elif tag == "select" and self._select is not None:
            self._end_option()
            chosen = [value for value, selected in self._options if selected]
            chosen = chosen or [value for value, _ in self._options[:1]]
            self._select.value = chosen[-1] if chosen else ""
            self._select = None

    def _end_option(self) -> None:
        if self._text_of is not None and self._text_of.tag == "option":
            # an option without a value attribute submits its text
            self._options[-1] = (self._text_of.value.strip(), self._options[-1][1])
            self._text_of = None

    def _add(self, control: _Control) -> _Control:
        control.form = self._open_form
        self.controls.append(control)
        return control

    def page_forms(self) -> list[_Form]:
        """The forms with their controls, a ``form="id"`` attribute overriding nesting."""
        forms = [_Form(form.attrs) for form in self.forms]
        ids = {form.attrs["id"]: i for i, form in enumerate(forms) if "id" in form.attrs}
        for control in self.controls:
            owner = ids.get(control.attrs["form"]) if "form" in control.attrs else control.form
            if owner is not None:
                forms[owner].controls.append(control)
        return forms


def _origin(url: str | httpx.URL) -> str:
    parsed = httpx.URL(url)
    port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme)
    return f"{parsed.scheme}://{parsed.host}:{port}"


def _expand(rule: FormRule, template: str, values: Mapping[str, str]) -> str:
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise ConfigError(
            f"form rule {rule.name!r}: {template!r} uses {exc}, which is not among the values given"
            f" ({', '.join(sorted(values)) or 'none'})"
        ) from exc
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"form rule {rule.name!r}: bad template {template!r}: {exc}") from exc


class _Page:
    """One HTML page: its forms, resolved against its URL."""

    def __init__(self, response: httpx.Response) -> None:
        self.url = response.url
        parser = _PageParser()
        parser.feed(response.text)
        parser.close()
        self.base = self.url.join(parser.base) if parser.base else self.url
        self.forms = parser.page_forms()
        self.refresh = parser.refresh

    def action(self, form: _Form, submitter: _Control | None = None) -> httpx.URL:
        action = submitter.attrs.get("formaction", "") if submitter else ""
        action = action or form.attrs.get("action", "")
        # an empty action submits to the document's own URL, not to the base
        return self.base.join(action) if action.strip() else self.url

    def refresh_target(self) -> httpx.URL | None:
        match = _REFRESH.match(self.refresh or "")
        target = match.group(1).strip().strip("'\"") if match else ""
        return self.base.join(target) if target else None

    def match(self, rules: Sequence[FormRule]) -> tuple[FormRule, _Form, _Control | None] | None:
        """The first rule (in the order given) that a form of the page satisfies."""
        for rule in rules:
            if rule.url is not None and not re.search(rule.url, str(self.url)):
                continue
            for form in self.forms:
                names = {control.name for control in form.controls}
                if not set(rule.fields) <= names:
                    continue
                submitter = _submitter(rule, form)
                if rule.submit is not None and submitter is None:
                    continue
                if rule.action is not None and not re.search(
                    rule.action, str(self.action(form, submitter))
                ):
                    continue
                return rule, form, submitter
        return None


def _submitter(rule: FormRule, form: _Form) -> _Control | None:
    buttons = [control for control in form.controls if control.is_submit]
    if rule.submit is None:
        return buttons[0] if buttons else None
    name, value = rule.submit
    return next((b for b in buttons if b.name == name and b.value == value), None)


def _entries(
    rule: FormRule, form: _Form, submitter: _Control | None, values: Mapping[str, str]
) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    for control in form.controls:
        if not control.name or "disabled" in control.attrs:
            continue
        if control.tag == "button" or control.type in _NOT_SUBMITTED:
            continue
        if control.type in ("checkbox", "radio") and "checked" not in control.attrs:
            continue
        entries.append((control.name, control.value))
    for name, template in rule.fill.items():
        value = _expand(rule, template, values)
        at = next((i for i, (n, _) in enumerate(entries) if n == name), None)
        if at is None:
            entries.append((name, value))
        else:
            entries[at] = (name, value)
    if submitter is not None and submitter.name:
        if submitter.type == "image":
            entries += [(f"{submitter.name}.x", "0"), (f"{submitter.name}.y", "0")]
        else:
            entries.append((submitter.name, submitter.value))
    return entries


def _submission(
    client: httpx.Client, page: _Page, form: _Form, submitter: _Control | None, body: str
) -> httpx.Request:
    method = (submitter.attrs.get("formmethod", "") if submitter else "") or form.attrs.get(
        "method", "get"
    )
    target = page.action(form, submitter)
    if method.lower() == "post":
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            # browsers send it; CSRF defences of some IdPs depend on it
            "Origin": f"{page.url.scheme}://{page.url.netloc.decode('ascii')}",
        }
        return client.build_request("POST", target, content=body, headers=headers)
    return client.build_request("GET", target.copy_with(query=body.encode("ascii"), fragment=None))


def _follow(client: httpx.Client, response: httpx.Response, target: httpx.URL) -> httpx.Request:
    request = response.request
    # 307 and 308 repeat the method and body; other redirects, and meta refreshes, are GETs
    if response.status_code in (307, 308):
        content_type = request.headers.get("content-type")
        headers = {"Content-Type": content_type} if content_type else {}
        return client.build_request(
            request.method, target, content=request.content, headers=headers
        )
    return client.build_request("GET", target)


def walk(
    client: httpx.Client,
    request: httpx.Request | str,
    rules: Sequence[FormRule],
    values: Mapping[str, str],
    *,
    stay_on: Sequence[str],
    max_steps: int = 12,
    stop_before: Sequence[str] = (),
) -> WalkResult:
    """Send ``request``, then follow redirects within ``stay_on`` origins and submit matching forms.

    The walk ends on a page with no matching form (or none at all), on a redirect elsewhere
    (``external_redirect``), or before submitting a form whose rule is in ``stop_before``.
    Forms are submitted wherever their action points: a rule is an explicit wish to submit.
    ``max_steps`` bounds the requests sent.
    """
    first = client.build_request("GET", request) if isinstance(request, str) else request
    return _Walk(client, rules, values, stay_on, stop_before).run(first, max_steps)


def resume(
    client: httpx.Client,
    stopped: WalkResult,
    rules: Sequence[FormRule],
    values: Mapping[str, str],
    *,
    stay_on: Sequence[str],
    max_steps: int = 12,
) -> WalkResult:
    """Go on with a walk that stopped before a form: submit it, and walk on as ``walk`` does.

    The result tells only what happened after the stop (its ``pages`` and ``submitted``).
    """
    if stopped.stopped_at is None:
        raise ValueError("resume() needs a walk that stopped before a form")
    return _Walk(client, rules, values, stay_on, ()).run(stopped.final_response, max_steps)


class _Walk:
    """The state of one walk: what it was told, and what it has done so far."""

    def __init__(
        self,
        client: httpx.Client,
        rules: Sequence[FormRule],
        values: Mapping[str, str],
        stay_on: Sequence[str],
        stop_before: Sequence[str],
    ) -> None:
        self.client = client
        self.rules = rules
        self.values = values
        self.origins = {_origin(url) for url in stay_on}
        self.stop_before = stop_before
        self.pages: list[str] = []
        self.submitted: list[str] = []

    def run(self, start: httpx.Request | httpx.Response, max_steps: int) -> WalkResult:
        """Walk from a request to send, or from a page already received."""
        if isinstance(start, httpx.Response):
            outcome = self._after(start)
            if isinstance(outcome, WalkResult):
                return outcome
            start = outcome
        request = start
        for _ in range(max_steps):
            try:
                response = self.client.send(request, follow_redirects=False)
            except OddLocation as odd:
                self.pages.append(str(odd.response.url))
                return self._end(odd.response, external=odd.response.headers.get("location"))
            self.pages.append(str(response.url))
            outcome = self._after(response)
            if isinstance(outcome, WalkResult):
                return outcome
            request = outcome
        raise TargetError(_too_long(max_steps, str(request.url), self.submitted))

    def _after(self, response: httpx.Response) -> httpx.Request | WalkResult:
        """The next request to send, or the end of the walk."""
        location = response.headers.get("location")
        if response.status_code in _REDIRECTS and location:
            try:
                target = response.url.join(location)
            except httpx.InvalidURL:
                # a Location httpx cannot parse (https:host, a control character) leaves the walk; a
                # browser might still follow it, which is for the caller to judge
                return self._end(response, external=location)
            return self._go(response, target)
        if "html" not in response.headers.get("content-type", "").lower():
            return self._end(response)
        page = _Page(response)
        found = page.match(self.rules)
        if found is None:
            try:
                refresh = page.refresh_target()
            except httpx.InvalidURL:
                # a refresh httpx cannot follow ends the walk on this page, for the caller to judge
                return self._end(response)
            return self._end(response) if refresh is None else self._go(response, refresh)
        rule, form, submitter = found
        if rule.name in self.stop_before:
            return self._end(response, stopped_at=rule.name)
        self.submitted.append(rule.name)
        body = urlencode(_entries(rule, form, submitter, self.values))
        return _submission(self.client, page, form, submitter, body)

    def _go(self, response: httpx.Response, target: httpx.URL) -> httpx.Request | WalkResult:
        if _origin(target) not in self.origins:
            return self._end(response, external=str(target))
        return _follow(self.client, response, target)

    def _end(
        self,
        response: httpx.Response,
        *,
        external: str | None = None,
        stopped_at: str | None = None,
    ) -> WalkResult:
        return WalkResult(
            final_response=response,
            final_url=str(response.url),
            external_redirect=external,
            submitted=self.submitted,
            stopped_at=stopped_at,
            pages=self.pages,
        )


def _too_long(max_steps: int, last_url: str, submitted: list[str]) -> str:
    message = (
        f"the form walk did not end within {max_steps} steps; last URL {REDACTOR.text(last_url)};"
        f" forms submitted: {', '.join(submitted) or 'none'}"
    )
    if len(submitted) >= 2 and submitted[-1] == submitted[-2]:
        message += (
            f" (form {submitted[-1]!r} keeps coming back: are the values it is filled with right?)"
        )
    return message
