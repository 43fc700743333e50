"""Tests of harness.redact: every masking rule, and what is deliberately kept."""

from __future__ import annotations

import threading
from urllib.parse import quote_plus

import httpx

from harness.redact import REDACTOR, Redactor, mask

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"
    ".eyJzdWIiOiJhbGljZSIsInNpZCI6IjEyMyJ9"
    ".c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)


def test_mask_is_short_stable_hash() -> None:
    assert mask("s3cret-value") == mask("s3cret-value")
    assert mask("s3cret-value") != mask("other-value")
    assert mask("s3cret-value").startswith("«masked sha256:")
    assert len(mask("s3cret-value")) == len("«masked sha256:12345678»")


def test_known_secret_masked_everywhere() -> None:
    r = Redactor()
    r.add_secret("hunter2-pass")
    out = r.text("login with hunter2-pass, again hunter2-pass")
    assert "hunter2" not in out
    assert out.count(mask("hunter2-pass")) == 2


def test_short_secrets_are_ignored() -> None:
    r = Redactor()
    r.add_secret("yes")
    assert r.text("yes, stay signed in") == "yes, stay signed in"


def test_secret_inside_url_encoded_body() -> None:
    r = Redactor()
    secret = "p@ss w0rd&more!"
    r.add_secret(secret)
    body = f"username=alice&pin={quote_plus(secret)}&remember=1"
    out = r.text(body)
    assert "w0rd" not in out
    assert f"pin={mask(secret)}" in out
    assert "username=alice" in out and "remember=1" in out


def test_longest_secret_wins() -> None:
    r = Redactor()
    r.add_secret("abcdef")
    r.add_secret("abcdef-ghijkl")
    assert r.text("x abcdef-ghijkl y") == f"x {mask('abcdef-ghijkl')} y"


def test_jwt_inside_html_page() -> None:
    page = f"<html><body><p>Your token: {JWT}.</p><script>var t='{JWT}';</script></body></html>"
    out = Redactor().text(page)
    assert "eyJ" not in out
    assert out.count(mask(JWT)) == 2
    assert out.startswith("<html><body><p>Your token: «masked")


def test_unsigned_jws_and_jwe_are_masked() -> None:
    unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."
    jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn"
    out = Redactor().text(f"{unsigned} and {jwe}")
    assert out == f"{mask(unsigned)} and {mask(jwe)}"


def test_form_and_query_fields() -> None:
    r = Redactor()
    url = "https://rp.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj&errorcode=12"
    out = r.text(url)
    assert "SplxlOBeZQQYbYS6WxSbIA" not in out
    assert "state=af0ifjsldkj" in out
    assert "errorcode=12" in out
    body = "grant_type=refresh_token&refresh_token=8xLOxBtZp8&client_secret=abc%2Bdef"
    out = r.text(body)
    assert "grant_type=refresh_token" in out  # the value "refresh_token" is not a secret
    assert f"refresh_token={mask('8xLOxBtZp8')}" in out
    assert f"client_secret={mask('abc+def')}" in out  # hashed decoded: matches other encodings


def test_json_fields() -> None:
    r = Redactor()
    doc = '{"access_token": "SlAV32hkKG", "token_type": "Bearer", "refresh_token":"8xLO\\"xBtZ"}'
    out = r.text(doc)
    assert "SlAV32hkKG" not in out and "8xLO" not in out
    assert '"token_type": "Bearer"' in out
    assert f'"access_token": "{mask("SlAV32hkKG")}"' in out
    assert f'"refresh_token":"{mask(chr(56) + "xLO" + chr(34) + "xBtZ")}"' in out


def test_hidden_inputs_in_html() -> None:
    page = (
        '<form method="post" action="/end-session/confirm">'
        '<input type="hidden" name="xsrf" value="b1a2c3d4e5">'
        "<input value='zzcode99' name=code type=hidden>"
        '<input type="hidden" name="logout_id" value="keep-me-1">'
        "</form>"
    )
    out = Redactor().text(page)
    assert "b1a2c3d4e5" not in out and "zzcode99" not in out
    assert 'value="keep-me-1"' in out
    assert f'name="xsrf" value="{mask("b1a2c3d4e5")}"' in out


def test_saml_messages_are_kept() -> None:
    body = "SAMLRequest=fZJNT8MwDIbv%2FIoq9&RelayState=xyz"
    assert Redactor().text(body) == body


def test_authorization_headers_keep_scheme() -> None:
    r = Redactor()
    out = r.headers(
        {
            "Authorization": "Basic Y2xpZW50OnNlY3JldA==",
            "Proxy-Authorization": "Bearer abcdefgh",
            "Accept": "text/html",
        }
    )
    assert out["Authorization"] == f"Basic {mask('Y2xpZW50OnNlY3JldA==')}"
    assert out["Proxy-Authorization"] == f"Bearer {mask('abcdefgh')}"
    assert out["Accept"] == "text/html"


def test_cookies_keep_names_and_attributes() -> None:
    r = Redactor()
    assert (
        r.header("Cookie", "sid=abc123; _csrf=zz9") == f"sid={mask('abc123')}; _csrf={mask('zz9')}"
    )
    set_cookie = "_session=s3ss10n; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly"
    assert r.header("Set-Cookie", set_cookie) == (
        f"_session={mask('s3ss10n')}; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly"
    )
    # a deletion shows as such: that is logout evidence
    deletion = "_session=; Max-Age=0; Path=/"
    assert r.header("Set-Cookie", deletion) == deletion


def test_repeated_set_cookie_headers() -> None:
    headers = httpx.Headers([("set-cookie", "a=111111; Path=/"), ("set-cookie", "b=; Max-Age=0")])
    out = Redactor().headers(headers)
    assert out == {"set-cookie": f"a={mask('111111')}; Path=/, b=; Max-Age=0"}


def test_other_header_values_go_through_text() -> None:
    out = Redactor().headers([("Location", "https://rp.example/cb?code=abcdef123&state=s")])
    assert out["Location"] == f"https://rp.example/cb?code={mask('abcdef123')}&state=s"


def test_shared_redactor_is_thread_safe() -> None:
    secrets = [f"thread-secret-{i:03d}" for i in range(200)]
    threads = [threading.Thread(target=REDACTOR.add_secret, args=(s,)) for s in secrets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    out = REDACTOR.text(" ".join(secrets))
    assert "thread-secret" not in out


def test_many_secrets_sharing_prefixes() -> None:
    r = Redactor()
    secrets = ["abcdef-1", "abcdef-12", "abcxyz-9", "zzzzzz-0"]
    for secret in secrets:
        r.add_secret(secret)
    out = r.text("abcdef-12 abcdef-1 abcxyz-9 abcdeX zzzzzz-0")
    assert out == " ".join(
        [mask("abcdef-12"), mask("abcdef-1"), mask("abcxyz-9"), "abcdeX", mask("zzzzzz-0")]
    )
