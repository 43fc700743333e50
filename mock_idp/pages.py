"""The HTML pages a browser sees at the mock OP: login, logout confirmation, outcomes and errors."""

import json
from html import escape
from string import Template

from starlette.responses import HTMLResponse

# Pages carry one-time values (interaction ids, xsrf tokens) and session state: never cache them.
NO_STORE = {"Cache-Control": "no-store"}
_HEADERS = NO_STORE


def _page(title: str, body: str, status_code: int = 200, head: str = "") -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{head}</head>\n<body>\n{body}\n</body></html>\n"
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def _script_value(value: str) -> str:
    """value as a JavaScript string literal that can't end the <script> element it sits in."""
    return json.dumps(value).replace("<", "\\u003c")


def login(interaction: str, error: str | None = None, script: bool = False) -> HTMLResponse:
    """The login form; with ``script``, a script builds it when the page loads (no <form> in the HTML)."""
    # The form's shape is fixed: the harness's form walker is configured against it.
    message = f'<p class="error">{escape(error)}</p>\n' if error else ""
    if script:
        return _page("Sign in", f"<h1>Sign in</h1>\n{message}{_login_script(interaction)}")
    form = (
        '<form method="post" action="/login">'
        f'<input type="hidden" name="interaction" value="{escape(interaction)}">'
        '<input type="text" name="username">'
        '<input type="password" name="password">'
        '<button type="submit">Sign in</button>'
        "</form>"
    )
    return _page("Sign in", f"<h1>Sign in</h1>\n{message}{form}")


def _login_script(interaction: str) -> str:
    # The very form of the html login page, attribute by attribute in the same order, so that the
    # DOM a browser ends up with is the same and the harness's form walker fills it alike.
    return (
        "<script>\n"
        "(function () {\n"
        '  var form = document.createElement("form");\n'
        '  form.setAttribute("method", "post");\n'
        '  form.setAttribute("action", "/login");\n'
        "  function add(tag, attributes, text) {\n"
        "    var element = document.createElement(tag);\n"
        "    for (var i = 0; i < attributes.length; i++) {\n"
        "      element.setAttribute(attributes[i][0], attributes[i][1]);\n"
        "    }\n"
        "    if (text) { element.textContent = text; }\n"
        "    form.appendChild(element);\n"
        "  }\n"
        '  add("input", [["type", "hidden"], ["name", "interaction"], '
        f'["value", {_script_value(interaction)}]]);\n'
        '  add("input", [["type", "text"], ["name", "username"]]);\n'
        '  add("input", [["type", "password"], ["name", "password"]]);\n'
        '  add("button", [["type", "submit"]], "Sign in");\n'
        "  document.currentScript.replaceWith(form);\n"
        "})();\n"
        "</script>"
    )


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


SIGNED_OUT = "<h1>You are signed out</h1>"
# How long the logged-out page waits for the RPs' logout URIs before it moves on all the same.
FRONTCHANNEL_WAIT_MS = 5000
# Goes to $target once every iframe fired its load event, or after $wait ms, whichever comes first.
_LEAVE_AFTER_FRAMES = Template("""
<script>
(function () {
  var frames = document.getElementsByTagName("iframe");
  var waiting = frames.length;
  var gone = false;
  function leave() {
    if (!gone) { gone = true; location.replace($target); }
  }
  function loaded() { waiting -= 1; if (waiting === 0) { leave(); } }
  for (var i = 0; i < frames.length; i++) {
    frames[i].addEventListener("load", loaded, { once: true });
  }
  // An RP that never answers must not keep the browser here.
  setTimeout(leave, $wait);
})();
</script>""")


def signed_out() -> HTMLResponse:
    return _page("Signed out", SIGNED_OUT)


def frontchannel_logged_out(
    logout_uris: list[str], redirect: str | None, *, redirect_first: bool = False
) -> HTMLResponse:
    """The OP's logged-out page with one iframe per RP logout URI (Front-Channel Logout 1.0 §3).

    With a redirect, a script at the end of the body waits for every iframe's load event (bounded)
    before it goes there; ``redirect_first`` (a fault) goes there from the <head> instead.
    """
    frames = "\n".join(
        f'<iframe src="{escape(uri)}" title="Signing out of an application" hidden></iframe>'
        for uri in logout_uris
    )
    head = leave = ""
    if redirect is not None:
        target = _script_value(redirect)
        if redirect_first:
            head = f"<script>location.replace({target})</script>"
        # One pass: a $ in the redirect stays as it is.
        leave = _LEAVE_AFTER_FRAMES.substitute(target=target, wait=FRONTCHANNEL_WAIT_MS)
    return _page("Signed out", f"{SIGNED_OUT}\n{frames}{leave}", head=head)


def still_signed_in() -> HTMLResponse:
    return _page("Still signed in", "<h1>You are still signed in</h1>")


def error(message: str, status_code: int = 400) -> HTMLResponse:
    return _page("Error", f'<h1>Error</h1>\n<p class="error">{escape(message)}</p>', status_code)


def error_sent_on(message: str, url: str) -> HTMLResponse:
    """An error page that sends the browser to url all the same, by meta refresh and script."""
    # Escaped for the attribute and for the script, so that url only ever acts as a URL.
    script = _script_value(url)
    body = (
        f'<meta http-equiv="refresh" content="0;url={escape(url)}">\n'
        f'<h1>Error</h1>\n<p class="error">{escape(message)}</p>\n'
        f"<script>location.replace({script})</script>"
    )
    return _page("Error", body, 400)
