"""Tests of harness.redirects: URL resolution as browsers do it, and where a response sends them."""

from __future__ import annotations

import httpx
import pytest

from harness.redirects import MAX_PAGE, Destination, browser_resolve, destination, origin_of

IDP = "https://idp.example/session/end"


# browser_resolve: expected values follow the URL Standard (and its web-platform-tests)
@pytest.mark.parametrize(
    ("base", "value", "resolved"),
    [
        # scheme and colon without slashes: relative under the same scheme, absolute under another
        ("https://example.com/a/b", "https:evil.example", "https://example.com/a/evil.example"),
        ("http://example.com/a/b", "https:evil.example", "https://evil.example/"),
        ("http://x/", "https:/evil", "https://evil/"),
        (None, "https:///evil", "https://evil/"),
        # backslashes are slashes in special URLs
        ("https://a/b", "//evil", "https://evil/"),
        ("https://a/b", "/\\evil", "https://evil/"),
        ("https://a/b", "\\\\evil/x", "https://evil/x"),
        ("https://a/b", "https:\\\\evil", "https://evil/"),
        (None, "https://evil.example\\@app.example.com/", "https://evil.example/@app.example.com/"),
        # userinfo: the last @ ends it
        (None, "https://app.example.com@evil.example/", "https://app.example.com@evil.example/"),
        (None, "https://a@b@c/", "https://a%40b@c/"),
        (None, "https://user:pa ss@host/", "https://user:pa%20ss@host/"),
        (
            None,
            "http://127.0.0.1:9481%2Fout%3F@evil.example/",
            "http://127.0.0.1:9481%2Fout%3F@evil.example/",
        ),
        # leading and trailing C0 controls and spaces stripped, tabs and newlines removed inside
        ("https://a/b", "  https://evil/ \n", "https://evil/"),
        ("https://a/b", "\x1f//evil", "https://evil/"),
        ("https://a/b", "ht\ttps://ev\nil/", "https://evil/"),
        ("https://a/b", "/\t/evil", "https://evil/"),
        (None, "https://a/out\r\nLocation: x", "https://a/outLocation:%20x"),
        # dot segments, plain and encoded
        ("https://a/b/c", "../../../x", "https://a/x"),
        ("https://a/b/c", "/%2e%2e/x", "https://a/x"),
        ("https://a/b/c", "/..%2Fx", "https://a/..%2Fx"),
        ("https://a/b/c", ".", "https://a/b/"),
        (None, "https://a/out/../../evil.example", "https://a/evil.example"),
        # relative references keep what they do not replace
        ("https://a/b?q#f", "?x=1", "https://a/b?x=1"),
        ("https://a/b?q#f", "#g", "https://a/b?q#g"),
        ("https://a/b?q#f", "", "https://a/b?q"),
        ("https://a/b/c", "d", "https://a/b/d"),
        # scheme, host and default port normalized
        ("https://a/", "HTTPS://EXAMPLE.COM/P", "https://example.com/P"),
        (None, "https://example.com:443/", "https://example.com/"),
        (None, "http://example.com:80", "http://example.com/"),
        (None, "wss://example.com:443/", "wss://example.com/"),
        (None, "https://example.com:80/", "https://example.com:80/"),
        (None, "https://ex%41mple.com/", "https://example.com/"),
        (None, "https://ＥＶＩＬ.example/", "https://evil.example/"),
        (None, "https://app.example.com./", "https://app.example.com./"),
        # internationalized hosts in their xn-- form
        (None, "https://\u0430pp.example.com/", "https://xn--pp-6kc.example.com/"),
        (None, "https://xn--pp-6kc.example.com", "https://xn--pp-6kc.example.com/"),
        # IPv4 in every form browsers accept, IPv6 compressed
        (None, "http://127.0.0.1.:9481/", "http://127.0.0.1:9481/"),
        (None, "https://0x7f.1/", "https://127.0.0.1/"),
        (None, "https://2130706433/", "https://127.0.0.1/"),
        (None, "https://0177.0.0.1/", "https://127.0.0.1/"),
        (None, "https://[::1]:8080/", "https://[::1]:8080/"),
        (None, "https://[0:0:0:0:0:0:0:1]/", "https://[::1]/"),
        (None, "https://[1:0:0:2:0:0:0:3]/", "https://[1:0:0:2::3]/"),
        (None, "https://[1:0:2:0:3:0:4:0]/", "https://[1:0:2:0:3:0:4:0]/"),
        (None, "https://[::ffff:1.2.3.4]/", "https://[::ffff:102:304]/"),
        # percent-encoding of each part
        (None, "https://a/b?q=a b'", "https://a/b?q=a%20b%27"),
        (None, "foo://a/b?q=a b'", "foo://a/b?q=a%20b'"),
        (None, 'https://a/p a"th{}', "https://a/p%20a%22th%7B%7D"),
        (None, "https://a/#f g`", "https://a/#f%20g%60"),
        (None, "https://a/é", "https://a/%C3%A9"),
        (None, "https://a/%2F%zz", "https://a/%2F%zz"),
        # opaque paths and non-special schemes
        (None, "javascript:alert(1)", "javascript:alert(1)"),
        (None, " JaVa\tScRiPt:alert(1)", "javascript:alert(1)"),
        (None, "data:text/html,<b>x</b>", "data:text/html,<b>x</b>"),
        (None, "mailto:x@y", "mailto:x@y"),
        (None, "foo://Host/Path", "foo://Host/Path"),
        (None, "foo://h", "foo://h"),
        ("foo://h/a/b", "c", "foo://h/a/c"),
        ("mailto:x@y", "#top", "mailto:x@y#top"),
    ],
)
def test_browser_resolve(base: str | None, value: str, resolved: str) -> None:
    assert browser_resolve(base, value) == resolved


@pytest.mark.parametrize(
    ("base", "value", "reason"),
    [
        (None, "https://example.com:65536/", "out of range"),
        (None, "https://example.com:8o/", "in the port"),
        (None, "https://ex ample.com/", "forbidden"),
        (None, "https://example.com%2F%2Fevil/", "forbidden"),
        (None, "https://app.example.com%40evil.example/", "forbidden"),
        (None, "http://127.0.0.1:9481%40evil.example/", "in the port"),
        (None, "https://%zz/", "forbidden"),
        (None, "https://%C3/", "not a valid domain"),
        (None, "http://1.2.3.4.5/", "not an IPv4 address"),
        (None, "http://evil.example127.0.0.1/", "not an IPv4 address"),
        (None, "http://256.0.0.1/", "out of range"),
        (None, "https://", "empty host"),
        (None, "https://a:b@/", "without a host"),
        (None, "https://:443/", "without a host"),
        (None, "https://[::1", "unclosed"),
        (None, "https://[::1%25eth0]/", "zone"),
        (None, "https://[1:2]/", "not an IPv6"),
        (None, "//x", "relative"),
        (None, "/path", "relative"),
        ("mailto:x@y", "z", "relative"),
        (None, "file:///etc/passwd", "file:"),
    ],
)
def test_browser_resolve_fails(base: str | None, value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        browser_resolve(base, value)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("HTTPS://Example.COM:443/x?y#z", "https://example.com"),
        ("http://127.0.0.1:9481/a", "http://127.0.0.1:9481"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("ftp://a:21/", "ftp://a"),
        ("javascript:alert(1)", None),
        ("data:,x", None),
        ("foo://h/", None),
        ("/relative", None),
        ("https://a%40b/", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


# destination: responses built by hand, as a walk would end on them


def html(
    body: str, status: int = 200, content_type: str = "text/html; charset=utf-8", **headers: str
) -> httpx.Response:
    return httpx.Response(
        status, headers={"content-type": content_type, **headers}, content=body.encode()
    )


def test_location_resolved_against_the_page() -> None:
    found = destination(httpx.Response(302, headers={"location": "//evil.example/x"}), IDP)
    assert found == Destination(
        "location",
        "//evil.example/x",
        "https://evil.example/x",
        "https",
        "https://evil.example",
        IDP,
    )
    found = destination(httpx.Response(303, headers={"location": "done?x=1"}), IDP)
    assert found is not None
    assert (found.url, found.origin) == (
        "https://idp.example/session/done?x=1",
        "https://idp.example",
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status(status: int) -> None:
    found = destination(httpx.Response(status, headers={"location": "https://rp.example/"}), IDP)
    assert found is not None and found.how == "location"


def test_location_without_redirect_status_is_not_followed() -> None:
    assert (
        destination(httpx.Response(201, headers={"location": "https://evil.example/"}), IDP) is None
    )
    assert (
        destination(httpx.Response(300, headers={"location": "https://evil.example/"}), IDP) is None
    )


def test_unparsable_location_keeps_the_raw_text() -> None:
    raw = "https://app.example.com%40evil.example/"
    found = destination(httpx.Response(302, headers={"location": raw}), IDP)
    assert found == Destination("location", raw, raw, None, None, IDP)


def test_javascript_location_keeps_the_raw_text() -> None:
    raw = "JavaScript:alert(document.domain)"
    found = destination(httpx.Response(302, headers={"location": raw}), IDP)
    assert found is not None
    assert (found.url, found.scheme, found.origin) == (raw, "javascript", None)


def test_several_locations_judge_the_one_that_leaves() -> None:
    response = httpx.Response(
        302, headers=[("location", "/signed-out"), ("location", "https://evil.example/")]
    )
    found = destination(response, IDP)
    assert found is not None and found.url == "https://evil.example/"
    same = httpx.Response(302, headers=[("location", "/a"), ("location", "/b")])
    found = destination(same, IDP)
    assert found is not None and found.url == "https://idp.example/a"


def test_refresh_header() -> None:
    found = destination(
        httpx.Response(200, headers={"refresh": "0; url=https://evil.example/"}), IDP
    )
    assert found is not None and (found.how, found.url) == (
        "refresh-header",
        "https://evil.example/",
    )
    # on an HTML page, the header comes before the page's own meta refresh
    page = html('<meta http-equiv="refresh" content="0;url=/mine">', refresh="1;url=/header")
    found = destination(page, IDP)
    assert found is not None and found.url == "https://idp.example/header"


@pytest.mark.parametrize(
    ("content", "url"),
    [
        ("0; url=https://evil.example/a", "https://evil.example/a"),
        ("0;URL='https://evil.example/a'", "https://evil.example/a"),
        ('0; Url = "https://evil.example/a" trailing', "https://evil.example/a"),
        ("5, https://evil.example/a", "https://evil.example/a"),
        ("0 https://evil.example/a", "https://evil.example/a"),
        ("0.5;url=//evil.example", "https://evil.example/"),
        ("3", IDP),
        ("3;", IDP),
        ("0; urlx", "https://idp.example/session/urlx"),
        ("0; 'quoted'", "https://idp.example/session/quoted"),
    ],
)
def test_meta_refresh(content: str, url: str) -> None:
    quoted = f"'{content}'" if '"' in content else f'"{content}"'
    for markup in (
        f"<html><head><meta http-equiv=refresh content={quoted}></head></html>",
        f"<META HTTP-EQUIV='Refresh' CONTENT={quoted}>",
    ):
        found = destination(html(markup), IDP)
        assert found is not None and (found.how, found.url) == ("meta-refresh", url), markup


@pytest.mark.parametrize("content", ["", "x; url=/a", "-1; url=/a", "0x url=/a"])
def test_meta_refresh_that_browsers_ignore(content: str) -> None:
    assert destination(html(f'<meta http-equiv="refresh" content="{content}">'), IDP) is None


def test_only_the_first_meta_refresh_counts_and_noscript_is_text() -> None:
    page = (
        '<noscript><meta http-equiv="refresh" content="0;url=/nojs"></noscript>'
        '<meta http-equiv="refresh" content="0;url=/first">'
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
    )
    found = destination(html(page), IDP)
    assert found is not None and found.url == "https://idp.example/first"


def test_base_href_changes_where_relative_urls_go() -> None:
    page = '<base href="https://other.example/dir/"><meta http-equiv=refresh content="0;url=x">'
    found = destination(html(page), IDP)
    assert found is not None
    assert (found.url, found.base) == ("https://other.example/dir/x", "https://other.example/dir/")
    broken = '<base href="https://[::1"><meta http-equiv=refresh content="0;url=x">'
    found = destination(html(broken), IDP)
    assert found is not None and found.url == "https://idp.example/session/x"


@pytest.mark.parametrize(
    ("script", "raw"),
    [
        ('location = "https://evil.example/a";', "https://evil.example/a"),
        ("location.href='//evil.example'", "//evil.example"),
        ("window.location = `https://evil.example/`", "https://evil.example/"),
        ('window.location.href = "https://evil.example/"\nnext()', "https://evil.example/"),
        ("location.replace('https://evil.example/')", "https://evil.example/"),
        ('window.location.assign( "https://evil.example/" )', "https://evil.example/"),
        ('document.location.href = "https://evil.example/";', "https://evil.example/"),
        ('top.location = "https://evil.example/"', "https://evil.example/"),
        ('self.top.location.replace("https://evil.example/")', "https://evil.example/"),
        # escapes in JavaScript strings, as template engines write them
        ('location.href = "https:\\/\\/evil.example\\u002Fa\\x2Fb";', "https://evil.example/a/b"),
        ('location.href = "https://evil.example/\\u{61}";', "https://evil.example/a"),
        ("location = 'it\\'s'", "it's"),
        # the first navigation of the page wins
        ('location = "/first"; location = "https://evil.example/"', "/first"),
        (
            (
                'document.addEventListener("readystatechange", function () {\n'
                '  if (document.readyState == "complete") window.location.replace("/done");\n})'
            ),
            "/done",
        ),
    ],
)
def test_script_navigation(script: str, raw: str) -> None:
    found = destination(html(f"<p>bye</p><script>{script}</script>"), IDP)
    assert found is not None and (found.how, found.raw) == ("script", raw)


@pytest.mark.parametrize(
    "script",
    [
        "if (top != self) top.location = self.location;",
        'location.href = "https://idp.example/" + next;',
        "location = `https://${host}/`;",
        'if (location.href == "https://evil.example/") go();',
        'frame.location = "https://evil.example/";',
        'mylocation = "https://evil.example/";',
        'console.log("bye")',
    ],
)
def test_scripts_that_do_not_navigate_to_a_constant(script: str) -> None:
    assert destination(html(f"<script>{script}</script>"), IDP) is None


def test_scripts_that_do_not_run() -> None:
    for page in (
        '<script type="application/json">{"a": 1}; location = "https://evil.example/"</script>',
        '<script src="/redirect.js">location = "https://evil.example/"</script>',
        '<noscript><script>location = "https://evil.example/"</script></noscript>',
    ):
        assert destination(html(page), IDP) is None, page


def test_scripts_come_before_meta_refresh() -> None:
    page = '<meta http-equiv="refresh" content="0;url=/meta"><script>location="/script"</script>'
    found = destination(html(page), IDP)
    assert found is not None and (found.how, found.raw) == ("script", "/script")


SAML_POST = (
    '<form method="post" action="https://evil.example/acs">'
    '<input type="hidden" name="SAMLResponse" value="PHNhbWw+"><noscript><button>Go</button>'
    "</noscript></form>"
)


@pytest.mark.parametrize(
    "page",
    [
        f'<body onload="document.forms[0].submit()">{SAML_POST}</body>',
        "<body ONLOAD=\"document.forms['f'].submit();\">"
        + SAML_POST.replace("<form", "<form name=f"),
        f"{SAML_POST}<script>document.forms[0].submit();</script>",
        (
            f"{SAML_POST.replace('<form', '<form id=saml')}"
            "<script>document.getElementById('saml').submit()</script>"
        ),
        (
            f"{SAML_POST.replace('<form', '<form id=saml')}"
            "<script>document.querySelector('#saml').requestSubmit()</script>"
        ),
        f"{SAML_POST}<script>var f = document.forms[0]; f.submit();</script>",
        "<script>window.onload = function () { document.forms[0].submit(); };</script>" + SAML_POST,
        "<body onload=\"document.getElementsByTagName('input')[1].click();\">"
        + SAML_POST.replace("</noscript>", '</noscript><input type="submit" value="Go">'),
        "<form id=other action=/search></form>"
        + SAML_POST.replace("<form", "<form id=saml")
        + "<script>document.getElementById('saml').submit()</script>",
    ],
)
def test_auto_submitting_form(page: str) -> None:
    found = destination(html(page), IDP)
    assert found is not None
    assert (found.how, found.url, found.origin) == (
        "form",
        "https://evil.example/acs",
        "https://evil.example",
    )


def test_form_submit_before_the_form_without_waiting_does_nothing() -> None:
    assert destination(html(f"<script>document.forms[0].submit()</script>{SAML_POST}"), IDP) is None


def test_form_that_is_not_submitted() -> None:
    assert destination(html(SAML_POST), IDP) is None
    # a click on something that is not a submit button of a form
    page = f"{SAML_POST}<script>document.getElementById('menu').click()</script><a id=menu>m</a>"
    assert destination(html(page), IDP) is None


def test_get_form_replaces_the_query() -> None:
    page = (
        '<form action="https://rp.example/back?old=1" id=f>'
        '<input type=hidden name=state value="a b"><input type=checkbox name=c>'
        "<input type=checkbox name=d checked><input name=off value=x disabled><input value=y>"
        "<input type=submit name=go value=1></form>"
        "<input type=hidden form=f name=outside value=2>"
        "<script>document.forms.f.submit()</script>"
    )
    found = destination(html(page), IDP)
    assert found is not None
    assert found.url == "https://rp.example/back?state=a+b&d=on&outside=2"
    assert found.raw == "https://rp.example/back?old=1"


def test_form_without_action_submits_to_the_page() -> None:
    page = (
        '<base href="https://other.example/"><form method=post></form>'
        "<script>document.forms[0].submit()</script>"
    )
    found = destination(html(page), IDP)
    assert found is not None and found.url == IDP


def test_form_to_javascript() -> None:
    page = '<form action="javascript:alert(1)"></form><script>document.forms[0].submit()</script>'
    found = destination(html(page), IDP)
    assert found is not None and (found.scheme, found.url) == ("javascript", "javascript:alert(1)")


def test_pages_of_any_status_count() -> None:
    page = '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
    for status in (200, 400, 500):
        found = destination(html(page, status=status), IDP)
        assert found is not None and found.origin == "https://evil.example"
    assert destination(html(page, status=204), IDP) is None


def test_content_type_and_sniffing() -> None:
    page = '<html><meta http-equiv="refresh" content="0;url=https://evil.example/">'
    assert destination(html(page, content_type="application/json"), IDP) is None
    assert destination(html(page, content_type="text/plain"), IDP) is None
    assert destination(html(page, content_type="application/xhtml+xml"), IDP) is not None
    no_type = httpx.Response(200, content=page.encode())
    assert destination(no_type, IDP) is not None
    assert destination(httpx.Response(200, content=b"just text location='x'"), IDP) is None


def test_only_the_first_bytes_are_read() -> None:
    late = "<p>" + "x" * MAX_PAGE + '</p><script>location="https://evil.example/"</script>'
    assert destination(html(late), IDP) is None
    early = '<script>location="https://evil.example/"</script><p>' + "x" * MAX_PAGE
    assert destination(html(early), IDP) is not None


def test_broken_markup_is_not_a_traceback() -> None:
    page = '<script>location="/a"</script><![if x]><!DOCTYPE x [ <!ENTITY y "z"> ]>'
    found = destination(html(page), IDP)
    assert found is not None and found.raw == "/a"
    assert destination(html("<![if !IE]><p>x"), IDP) is None


def test_charset_of_the_page() -> None:
    body = '<script>location="https://évil.example/"</script>'.encode("latin-1")
    page = httpx.Response(
        200, headers={"content-type": "text/html; charset=iso-8859-1"}, content=body
    )
    found = destination(page, IDP)
    assert found is not None and found.url == "https://xn--vil-9la.example/"


def test_base_url_must_be_absolute() -> None:
    with pytest.raises(ValueError):
        destination(httpx.Response(302, headers={"location": "/x"}), "/relative")
