"""The HTML pages a browser sees at the mock OP: login, logout confirmation, outcomes and errors."""

import json
from html import escape

from starlette.responses import HTMLResponse

# Pages carry one-time values (interaction ids, xsrf tokens) and session state: never cache them.
NO_STORE = {"Cache-Control": "no-store"}
_HEADERS = NO_STORE


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def login(interaction: str, error: str | None = None) -> HTMLResponse:
    # The form's shape is fixed: the harness's form walker is configured against it.
    message = f'<p class="error">{escape(error)}</p>\n' if error else ""
    form = (
        '<form method="post" action="/login">'
        f'<input type="hidden" name="interaction" value="{escape(interaction)}">'
        '<input type="text" name="username">'
        '<input type="password" name="password">'
        '<button type="submit">Sign in</button>'
        "</form>"
    )
    return _page("Sign in", f"<h1>Sign in</h1>\n{message}{form}")


def confirm_logout(xsrf: str, logout_id: str, client_id: str | None) -> HTMLResponse:
    # The form's shape is fixed: the harness's form walker is configured against it.
    asker = f" (asked by {escape(client_id)})" if client_id else ""
    form = (
        '<form method="post" action="/end-session/confirm">'
        f'<input type="hidden" name="xsrf" value="{escape(xsrf)}">'
        f'<input type="hidden" name="logout_id" value="{escape(logout_id)}">'
        '<button type="submit" name="logout" value="yes">Yes, sign me out</button>'
        '<button type="submit" name="logout" value="no">No, stay signed in</button>'
        "</form>"
    )
    return _page("Sign out", f"<h1>Sign out</h1>\n<p>Do you want to sign out{asker}?</p>\n{form}")


def auto_post(action: str, fields: dict[str, str]) -> HTMLResponse:
    """A form that the page's script submits at once; without scripts, a button does (SAML HTTP-POST)."""
    # The form's shape is fixed: the harness's form walker and the tests read it.
    inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )
    form = (
        f'<form method="post" action="{escape(action)}">{inputs}'
        '<button type="submit">Continue</button></form>\n'
        "<script>document.forms[0].submit()</script>"
    )
    return _page("Continue", form)


def signed_out() -> HTMLResponse:
    return _page("Signed out", "<h1>You are signed out</h1>")


def still_signed_in() -> HTMLResponse:
    return _page("Still signed in", "<h1>You are still signed in</h1>")


def error(message: str, status_code: int = 400) -> HTMLResponse:
    return _page("Error", f'<h1>Error</h1>\n<p class="error">{escape(message)}</p>', status_code)


def error_sent_on(message: str, url: str) -> HTMLResponse:
    """An error page that sends the browser to url all the same, by meta refresh and script."""
    # Escaped for the attribute and for the script, so that url only ever acts as a URL.
    script = json.dumps(url).replace("<", "\\u003c")
    body = (
        f'<meta http-equiv="refresh" content="0;url={escape(url)}">\n'
        f'<h1>Error</h1>\n<p class="error">{escape(message)}</p>\n'
        f"<script>location.replace({script})</script>"
    )
    return _page("Error", body, 400)
