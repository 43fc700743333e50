"""Tests of harness.return_to: the open-redirect corpus and the checks of where the browser went."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import requirements
from harness.errors import ConfigError, Violation
from harness.redirects import Destination, destination
from harness.return_to import (
    DIALECTS,
    EITHER,
    FOLLOWED,
    REFUSED,
    Case,
    Corpus,
    judge,
    load_corpus,
)

REGISTERED = "https://app.example.com/logged-out"
LOOPBACK = "http://127.0.0.1:9481/logged-out/rp1"
IDP = "https://idp.example/v2/logout"
OWN = ["https://idp.example"]

ASKED_FOR = {
    "registered",
    "other-host",
    "scheme-relative",
    "scheme-colon-same",
    "scheme-colon-other",
    "backslashes",
    "slash-backslash",
    "userinfo",
    "host-prefix",
    "host-suffix-dot",
    "host-suffix",
    "percent-slashes",
    "percent-at",
    "double-encoded-slashes",
    "upper-case",
    "host-trailing-dot",
    "other-port",
    "other-scheme",
    "path-traversal",
    "path-traversal-encoded",
    "path-suffix",
    "path-dot-evil",
    "path-at-evil",
    "javascript",
    "data-url",
    "idn-lookalike",
    "idn-lookalike-punycode",
    "fragment",
    "query-added",
    "query-next-offsite",
    "leading-space",
    "trailing-space",
    "tab-in-slashes",
    "crlf-encoded",
    "crlf-raw",
    "long-query",
    "long-offsite",
}
WILDCARD_ASKED_FOR = {
    "wildcard-one-label",
    "wildcard-two-labels",
    "wildcard-bare-domain",
    "wildcard-other-scheme",
    "wildcard-other-port",
    "wildcard-evil-path",
}


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


def redirect(location: str, status: int = 302) -> Destination:
    found = destination(httpx.Response(status, headers={"location": location}), IDP)
    assert found is not None
    return found


def page(body: str) -> Destination:
    found = destination(
        httpx.Response(200, headers={"content-type": "text/html"}, content=body), IDP
    )
    assert found is not None
    return found


def violated(requirement: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> Violation:
    with pytest.raises(Violation) as info:
        check(*args, **kwargs)
    assert info.value.requirement == requirement
    assert getattr(check, "requirement", requirement) == requirement  # judge is no check itself
    assert str(info.value).startswith(f"{requirement}: expected ")
    return info.value


# the corpus


def test_corpus_has_the_cases_asked_for(corpus: Corpus) -> None:
    assert ASKED_FOR <= {case.id for case in corpus.cases}
    assert WILDCARD_ASKED_FOR <= {case.id for case in corpus.wildcard}
    assert corpus.for_dialect("exact") == corpus.for_dialect("app") == corpus.cases
    assert corpus.for_dialect("allowlist") == corpus.cases + corpus.wildcard
    assert corpus.get("registered").value == "{registered}"
    with pytest.raises(KeyError, match="no case 'nope'"):
        corpus.get("nope")


def test_every_case_has_an_expectation_for_every_dialect(corpus: Corpus) -> None:
    for case in corpus.cases:
        assert set(case.expect) == set(DIALECTS), case.id
        assert not case.wildcard
    for case in corpus.wildcard:
        assert set(case.expect) == {"allowlist"}, case.id
        assert case.wildcard


@pytest.mark.parametrize(
    "registered", [REGISTERED, LOOPBACK, "https://[::1]:8443/", "http://localhost"]
)
def test_corpus_renders(corpus: Corpus, registered: str) -> None:
    for case in corpus.cases + corpus.wildcard:
        value = case.render(registered)
        assert not re.search(r"\{[A-Za-z_]+\}", value), (case.id, value)
        if case.pad_to is not None:
            assert len(value) == case.pad_to == 8192
        else:
            assert len(value) < 300
        case.leaves(registered, value)
    assert "*." in corpus.entry(registered)


def test_renders_for_the_two_registered_urls(corpus: Corpus) -> None:
    rendered = {case.id: case.render(REGISTERED) for case in corpus.cases + corpus.wildcard}
    assert rendered["registered"] == REGISTERED
    assert rendered["userinfo"] == "https://app.example.com@evil.example/logged-out"
    assert rendered["backslashes"] == "https:\\\\evil.example/logged-out"
    assert rendered["slash-backslash"] == "/\\evil.example/logged-out"
    assert rendered["upper-case"] == "HTTPS://APP.EXAMPLE.COM/logged-out"
    assert rendered["other-port"] == "https://app.example.com:8443/logged-out"
    assert rendered["idn-lookalike"] == "https://\u0430pp.example.com/logged-out"
    assert rendered["idn-lookalike-punycode"] == "https://xn--pp-6kc.example.com/logged-out"
    assert rendered["crlf-raw"] == REGISTERED + "\r\nLocation: https://evil.example"
    assert rendered["wildcard-one-label"] == "https://rp.example.com/logged-out"
    assert corpus.entry(REGISTERED) == "https://*.example.com/logged-out"

    rendered = {case.id: case.render(LOOPBACK) for case in corpus.cases + corpus.wildcard}
    assert rendered["registered"] == LOOPBACK
    assert rendered["userinfo"] == "http://127.0.0.1:9481@evil.example/logged-out/rp1"
    assert rendered["other-port"] == "http://127.0.0.1:9482/logged-out/rp1"
    assert rendered["other-scheme"] == "https://127.0.0.1:9481/logged-out/rp1"
    assert rendered["encoded-path-in-userinfo"] == (
        "http://127.0.0.1:9481%2Flogged-out%2Frp1%3F@evil.example/"
    )
    assert rendered["wildcard-one-label"] == "http://rp.localhost:9481/logged-out/rp1"
    assert corpus.entry(LOOPBACK) == "http://*.localhost:9481/logged-out/rp1"


def test_render_takes_extra_placeholders(corpus: Corpus) -> None:
    case = corpus.get("other-host")
    assert case.render(REGISTERED, evil="attacker.test") == "https://attacker.test/logged-out"
    with pytest.raises(ConfigError, match="not absolute"):
        case.render("/logged-out")
    with pytest.raises(ConfigError, match="not http or https"):
        case.render("ftp://app.example.com/")
    with pytest.raises(ConfigError, match="not a usable domain"):
        case.render("https://a..b/")
    odd = Case("odd", "{nope}", "An unknown placeholder.", False, {"app": "refuse"}, {})
    with pytest.raises(ConfigError, match=r"unknown placeholder \{nope\}"):
        odd.render(REGISTERED)


def test_offsite_flags_match_what_a_browser_does(corpus: Corpus) -> None:
    for case in corpus.cases + corpus.wildcard:
        assert case.leaves(REGISTERED, case.render(REGISTERED)) == case.offsite, case.id
        # some host tricks do not parse under an IP address: never off-site where the flag says not
        if case.leaves(LOOPBACK, case.render(LOOPBACK)):
            assert case.offsite, case.id


def test_expectations_agree_with_the_dialects(corpus: Corpus) -> None:
    for case in corpus.cases + corpus.wildcard:
        if case.offsite:
            assert set(case.expect.values()) == {"refuse"}, case.id
    for case in corpus.cases:
        # exact: simple string comparison
        assert (case.expect["exact"] == "follow") == (case.id == "registered"), case.id
        # app: off-site refused, its own host may be followed or refused
        assert (case.expect["app"] == "refuse") == case.offsite, case.id


def test_every_case_names_a_checked_requirement(corpus: Corpus) -> None:
    tables = {"follow": FOLLOWED, "refuse": REFUSED, "either": EITHER}
    for dialect in DIALECTS:
        for case in corpus.for_dialect(dialect):
            for outcome, table in tables.items():
                if outcome == "follow" and case.expect[dialect] != "follow":
                    continue  # a case may turn into a refusal, never into a following
                requirement = case.requirement(dialect, outcome)  # type: ignore[arg-type]
                assert requirement in table, (case.id, dialect, outcome)
                assert requirements.get(requirement).id == requirement
    query = corpus.get("query-added")
    assert query.requirement("allowlist", "follow") == "AUTH0-returnTo-query"
    assert query.requirement("exact", "refuse") == "OIDCRIL-3-exact"
    assert corpus.get("wildcard-two-labels").requirement("allowlist", "refuse") == (
        "AUTH0-returnTo-wildcard"
    )
    assert corpus.get("wildcard-one-label").requirement("allowlist", "follow") == (
        "AUTH0-returnTo-followed"
    )
    assert corpus.get("other-host").requirement("app", "either") == "LOGOUT-RT-offsite"


def test_what_leaves_the_registered_host_is_refused(corpus: Corpus) -> None:
    # without a path, {registered}.{evil} is another host: an app must refuse it
    case, bare = corpus.get("path-dot-evil"), "https://app.example.com"
    value = case.render(bare)
    assert value == "https://app.example.com.evil.example"
    assert case.expectation("app", bare, value) == "refuse"
    assert case.expectation("app", REGISTERED, case.render(REGISTERED)) == "either"


# the checks: refused


def test_refused_passes(corpus: Corpus) -> None:
    case = corpus.get("other-host")
    value = case.render(REGISTERED)
    for requirement, check in REFUSED.items():
        check(None, value, [], OWN, case)
        check(redirect("/signed-out"), value, [], OWN, case)
        check(redirect("https://IDP.example:443/error?e=1"), value, [], OWN, case)
        check(redirect(REGISTERED + "#top"), value, [REGISTERED], OWN, case)
        check(page('<meta http-equiv="refresh" content="3">'), value, [], OWN, case)
        assert check.requirement == requirement  # type: ignore[attr-defined]


@pytest.mark.parametrize("requirement", sorted(REFUSED))
def test_refused_fails(corpus: Corpus, requirement: str) -> None:
    check = REFUSED[requirement]
    case = corpus.get("scheme-relative")
    value = case.render(REGISTERED)
    # the value itself, as written or resolved
    v = violated(requirement, check, redirect(value), value, [], OWN, case)
    assert "case scheme-relative" in v.expected and case.tests.rstrip(".") in v.expected
    assert "a Location header sent the browser to 'https://evil.example/logged-out'" in v.seen
    assert "written '//evil.example/logged-out'" in v.seen and "the value itself" in v.seen
    # anywhere else off-site, by any means
    v = violated(
        requirement,
        check,
        page('<script>location="https://other.example/"</script>'),
        value,
        [],
        OWN,
        case,
    )
    assert "a script sent the browser" in v.seen and "https://other.example" in v.seen
    v = violated(
        requirement,
        check,
        page('<meta http-equiv="refresh" content="0;url=https://app.example.com/x">'),
        value,
        [REGISTERED],
        OWN,
        case,
    )
    assert "a meta refresh" in v.seen and "neither the target's own origin nor an allowed" in v.seen
    form = (
        '<form method=post action="https://rp.example/"></form>'
        "<script>document.forms[0].submit()</script>"
    )
    v = violated(requirement, check, page(form), value, [], OWN, case)
    assert "an auto-submitting form" in v.seen
    # never javascript:, nor what does not parse
    v = violated(requirement, check, redirect("javascript:alert(1)"), value, [], OWN, case)
    assert "javascript: URL" in v.seen
    v = violated(
        requirement, check, redirect("https://idp.example%40evil.example/"), value, [], OWN, case
    )
    assert "cannot parse" in v.seen


def test_refused_value_on_the_targets_own_origin(corpus: Corpus) -> None:
    # a relative value lands on the target's own origin, but it is still the value
    case = corpus.get("relative-path")
    violated(
        "OIDCRIL-3-exact",
        REFUSED["OIDCRIL-3-exact"],
        redirect("/elsewhere"),
        "/elsewhere",
        [],
        OWN,
        case,
    )


def test_long_values_are_cut_in_messages(corpus: Corpus) -> None:
    case = corpus.get("long-offsite")
    value = case.render(REGISTERED)
    v = violated(
        "LOGOUT-RT-offsite", REFUSED["LOGOUT-RT-offsite"], redirect(value), value, [], OWN, case
    )
    assert "(8192 characters)" in v.expected and "characters)" in v.seen
    assert len(str(v)) < 1000


def test_control_characters_are_escaped_in_messages(corpus: Corpus) -> None:
    case = corpus.get("crlf-raw")
    value = case.render(REGISTERED)
    v = violated(
        "OIDCRIL-3-exact",
        REFUSED["OIDCRIL-3-exact"],
        redirect(REGISTERED + "Location:%20https://evil.example"),
        value,
        [],
        OWN,
        case,
    )
    assert "\\r\\n" in v.expected and "\r" not in str(v)


def test_refused_needs_absolute_configuration(corpus: Corpus) -> None:
    case = corpus.get("other-host")
    with pytest.raises(ConfigError, match="own origin"):
        REFUSED["LOGOUT-RT-offsite"](redirect("https://x.example/"), "v", [], ["/relative"], case)
    with pytest.raises(ConfigError, match="allowed URL"):
        REFUSED["LOGOUT-RT-offsite"](redirect("https://x.example/"), "v", ["/r"], OWN, case)


# followed


def test_followed_passes(corpus: Corpus) -> None:
    for requirement, check in FOLLOWED.items():
        case = corpus.get("registered")
        check(redirect(REGISTERED), REGISTERED, case)
        check(page(f'<script>location.replace("{REGISTERED}")</script>'), REGISTERED, case)
        assert check.requirement == requirement  # type: ignore[attr-defined]
    # the browser's own reading of the value: upper case host, fragment left out
    upper = corpus.get("upper-case")
    FOLLOWED["AUTH0-returnTo-followed"](redirect(REGISTERED), upper.render(REGISTERED), upper)
    fragment = corpus.get("fragment")
    FOLLOWED["AUTH0-returnTo-query"](redirect(REGISTERED), fragment.render(REGISTERED), fragment)


def test_followed_with_state(corpus: Corpus) -> None:
    case, check = corpus.get("registered"), FOLLOWED["OIDCRIL-3-redirect"]
    state = {"state": "a b&c"}
    check(redirect(REGISTERED + "?state=a+b%26c"), REGISTERED, case, state)
    check(redirect(REGISTERED), REGISTERED, case, state)
    with_query = REGISTERED + "?tenant=1"
    check(redirect(with_query + "&state=a%20b%26c"), with_query, case, state)
    check(redirect(REGISTERED + "?state=a+b%26c&tenant=1"), with_query, case, state)
    # not told about state: the value plus a query is not the value
    v = violated("OIDCRIL-3-redirect", check, redirect(REGISTERED + "?state=x"), REGISTERED, case)
    assert "state=x" in v.seen
    # told, but another value, or more than the state added
    violated(
        "OIDCRIL-3-redirect", check, redirect(REGISTERED + "?state=x"), REGISTERED, case, state
    )
    violated(
        "OIDCRIL-3-redirect",
        check,
        redirect(with_query + "&state=a+b%26c&more=1"),
        with_query,
        case,
        state,
    )
    v = violated(
        "OIDCRIL-3-redirect",
        check,
        redirect(REGISTERED + "?state=a+b%26c"),
        with_query,
        case,
        state,
    )
    assert "state= may be added" in v.expected


@pytest.mark.parametrize("requirement", sorted(FOLLOWED))
def test_followed_fails(corpus: Corpus, requirement: str) -> None:
    case, check = corpus.get("registered"), FOLLOWED[requirement]
    v = violated(requirement, check, None, REGISTERED, case)
    assert "no redirect" in v.seen and "case registered" in v.expected
    v = violated(requirement, check, redirect("/signed-out"), REGISTERED, case)
    assert "'https://idp.example/signed-out'" in v.seen and "(written '/signed-out')" in v.seen
    violated(requirement, check, redirect(REGISTERED + "/x"), REGISTERED, case)
    violated(requirement, check, redirect("http://app.example.com/logged-out"), REGISTERED, case)


# either


@pytest.mark.parametrize("requirement", sorted(EITHER))
def test_either(corpus: Corpus, requirement: str) -> None:
    case, check = corpus.get("same-origin-other-path"), EITHER[requirement]
    value = case.render(REGISTERED)
    check(None, value, [], OWN, case)
    check(redirect(value), value, [], OWN, case)
    check(redirect("/v2/logged-out"), value, [], OWN, case)
    check(redirect(REGISTERED), value, [REGISTERED], OWN, case)
    v = violated(requirement, check, redirect("https://evil.example/"), value, [], OWN, case)
    assert "never a third place" in v.expected and "https://evil.example" in v.seen
    violated(requirement, check, redirect(REGISTERED), value, [], OWN, case)


def test_either_never_follows_off_site_after_decoding(corpus: Corpus) -> None:
    # a server that decodes %2F%2F sends the browser to //evil.example: not the value
    case = corpus.get("percent-slashes")
    value = case.render(REGISTERED)
    EITHER["LOGOUT-RT-offsite"](redirect(value), value, [], ["https://app.example.com"], case)
    violated(
        "LOGOUT-RT-offsite",
        EITHER["LOGOUT-RT-offsite"],
        redirect("//evil.example/logged-out"),
        value,
        [],
        ["https://app.example.com"],
        case,
    )


# judge: the check a case calls for


def test_judge(corpus: Corpus) -> None:
    registered = corpus.get("registered")
    judge(
        registered,
        "exact",
        REGISTERED,
        REGISTERED,
        redirect(REGISTERED + "?state=s"),
        extra_query={"state": "s"},
    )
    v = violated("OIDCRIL-3-redirect", judge, registered, "exact", REGISTERED, REGISTERED, None)
    assert "no redirect" in v.seen

    query = corpus.get("query-added")
    value = query.render(REGISTERED)
    judge(query, "allowlist", REGISTERED, value, redirect(value))
    violated("AUTH0-returnTo-query", judge, query, "allowlist", REGISTERED, value, None)
    violated(
        "OIDCRIL-3-exact",
        judge,
        query,
        "exact",
        REGISTERED,
        value,
        redirect(value),
        own_origins=OWN,
    )
    judge(query, "app", REGISTERED, value, None)

    wildcard = corpus.get("wildcard-two-labels")
    value = wildcard.render(REGISTERED)
    violated(
        "AUTH0-returnTo-wildcard",
        judge,
        wildcard,
        "allowlist",
        REGISTERED,
        value,
        redirect(value),
        own_origins=OWN,
        allowed=[corpus.entry(REGISTERED)],
    )

    offsite = corpus.get("path-dot-evil")
    bare = "https://app.example.com"
    value = offsite.render(bare)
    violated(
        "LOGOUT-RT-offsite", judge, offsite, "app", bare, value, redirect(value), own_origins=[bare]
    )


# loading


CASE = """\
  - id: {id}
    value: "{value}"
    tests: A case written for the loader's tests.
    offsite: false
    expect: {{exact: refuse, allowlist: {allowlist}, app: either}}
"""
WILDCARD = """\
wildcard:
  entry: "{scheme}://*.{domain}{path}"
  cases:
    - id: w
      value: "{scheme}://rp.{domain}{path}"
      tests: One label in place of the star.
      offsite: false
      expect: {allowlist: follow}
"""


def write(tmp_path: Path, cases: str, wildcard: str = WILDCARD) -> Path:
    path = tmp_path / "corpus.yaml"
    path.write_text("cases:\n" + cases + wildcard, encoding="utf-8")
    return path


def case_text(id: str = "a", value: str = "{registered}x", allowlist: str = "refuse") -> str:
    return CASE.format(id=id, value=value, allowlist=allowlist)


def test_load_a_small_corpus(tmp_path: Path) -> None:
    corpus = load_corpus(write(tmp_path, case_text()))
    assert [c.id for c in corpus.cases] == ["a"] and corpus.get("w").wildcard
    assert corpus.file.endswith("corpus.yaml")


@pytest.mark.parametrize(
    ("cases", "wildcard", "line", "message"),
    [
        (case_text() + case_text(), WILDCARD, 7, "case id 'a' is used twice"),
        (case_text(value="{nothing}"), WILDCARD, 3, "unknown placeholder {nothing}"),
        (case_text(value="{padding}"), WILDCARD, 3, "pad_to and {padding}"),
        (case_text(allowlist="maybe"), WILDCARD, 6, "is not one of"),
        (
            case_text().replace("offsite: false", "offsite: false\n    colour: red"),
            WILDCARD,
            6,
            "unknown key 'colour'",
        ),
        (
            case_text().replace(
                "    expect", "    requirements: {allowlist: AUTH0-federated}\n    expect"
            ),
            WILDCARD,
            6,
            "no return-to check for AUTH0-federated",
        ),
        (
            case_text()
            .replace(
                "    expect", "    requirements: {allowlist: AUTH0-returnTo-allowlist}\n    expect"
            )
            .replace("allowlist: refuse", "allowlist: follow"),
            WILDCARD,
            6,
            "AUTH0-returnTo-allowlist with expect follow",
        ),
        (
            case_text(),
            WILDCARD.replace('{domain}{path}"\n  cases', '{domian}"\n  cases'),
            8,
            "unknown placeholder {domian}",
        ),
        (
            case_text(),
            WILDCARD.replace("allowlist: follow", "exact: follow"),
            14,
            "'allowlist' is a required property",
        ),
    ],
)
def test_load_errors_name_file_and_line(
    tmp_path: Path, cases: str, wildcard: str, line: int, message: str
) -> None:
    path = write(tmp_path, cases, wildcard)
    with pytest.raises(ConfigError) as info:
        load_corpus(path)
    assert (info.value.file, info.value.line) == (str(path), line)
    assert message in info.value.message


def test_lookalike_hosts_are_shown_escaped(corpus: Corpus) -> None:
    case = corpus.get("idn-lookalike")
    value = case.render(REGISTERED)
    check = REFUSED["LOGOUT-RT-offsite"]
    v = violated(
        "LOGOUT-RT-offsite",
        check,
        page(f'<script>location="{value}"</script>'),
        value,
        [],
        OWN,
        case,
    )
    assert "\\u0430pp.example.com" in v.expected
    assert "'https://xn--pp-6kc.example.com/logged-out'" in v.seen and "\\u0430pp" in v.seen


def test_a_page_that_refreshes_itself_is_not_followed(corpus: Corpus) -> None:
    case = corpus.get("registered")
    v = violated(
        "LOGOUT-RT-followed",
        FOLLOWED["LOGOUT-RT-followed"],
        page('<meta http-equiv="refresh" content="3">'),
        REGISTERED,
        case,
    )
    assert "a meta refresh sent the browser to 'https://idp.example/v2/logout'" in v.seen
    assert "(the page refreshing itself)" in v.seen
