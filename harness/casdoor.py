"""Casdoor single sign-out notifications: https://casdoor.org/docs/session/single-sign-out

Both directions of the notification an IdP speaking Casdoor's dialect POSTs at SSO logout:

- as the IdP's judge, the checks below look at a notification the harness received: ``schema``
  first (it parses the body), then ``signature``, ``fresh``, ``unique_nonce``, ``sessions`` and
  ``token_hashes`` on the payload it returned;
- as the sender, ``build`` makes a valid payload and ``VARIANTS`` the forged bodies a receiving
  webhook must refuse. Replay needs no variant: the step sends the same valid body twice, and the
  second must be refused (CASDOOR-receiver-replay).

Session ids are the users' session cookies and tokens are bearer credentials: messages show them
masked (``redact.mask``, whose short SHA-256 is also the prefix of a token's hash) and never print
the client secret or the HMAC it would give.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema

from harness import yamlsrc
from harness.checks import check, describe_body
from harness.errors import Violation
from harness.redact import mask

__all__ = [
    "EVENT",
    "VARIANTS",
    "Outcome",
    "Variant",
    "answered_ok",
    "build",
    "call_effect",
    "encode",
    "fresh",
    "notified",
    "refused",
    "schema",
    "scope",
    "sessions",
    "sign",
    "signature",
    "signed_string",
    "token_hash",
    "token_hashes",
    "token_rejected",
    "unique_nonce",
]

EVENT = "sso-logout"
#: what a receiving webhook did with a forged notification
Outcome = Literal["accept", "reject"]
#: the signed fields, in the order the documented verifiers join them
_SIGNED = ("owner", "name", "nonce", "timestamp", "sessionIds", "accessTokenHashes")
#: how far the stale and future variants move the timestamp
_SKEW_S = 3600
_SHOWN = 60

# JSON Schema's "integer" admits 1.0; a Go receiver (Casdoor's own language) refuses it for int64
# and the signed string would read "1.0", so only a JSON number without a fraction counts
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def _field_text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


def signed_string(payload: Mapping[str, Any]) -> str:
    """``owner|name|nonce|timestamp|sessionIds joined by ,|accessTokenHashes joined by ,``.

    A field that is absent counts as empty, as a receiver that reads it with a default would
    compute it; a value that is not a list (a mistyped ``sessionIds``) is taken as its text.
    """
    return "|".join(_field_text(payload.get(name)) for name in _SIGNED)


def _hmac(payload: Mapping[str, Any], secret: str) -> bytes:
    message = signed_string(payload).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def sign(payload: Mapping[str, Any], secret: str) -> str:
    """The signature: lowercase hex HMAC-SHA256 of ``signed_string``, keyed with ``secret``."""
    return _hmac(payload, secret).hex()


def token_hash(token: str) -> str:
    """Lowercase hex SHA-256 of a token, as listed in ``accessTokenHashes``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def encode(payload: Mapping[str, Any]) -> str:
    """The JSON body of a notification."""
    return json.dumps(dict(payload), separators=(",", ":"))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _masked_signed_string(payload: Mapping[str, Any]) -> str:
    ids = payload.get("sessionIds")
    if isinstance(ids, list):
        payload = {**payload, "sessionIds": [mask(str(i)) for i in ids]}
    return signed_string(payload)


# ---- the IdP's judge -----------------------------------------------------------------------------

_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number with a fraction",
    type(None): "null",
}


def _type_problem(error: jsonschema.ValidationError) -> str:
    """A wrong type or value of one field, named by its path (``sessionIds[0]``)."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    field = path.lstrip(".") or "the payload"
    if error.validator == "type":
        seen = _JSON_TYPES.get(type(error.instance), type(error.instance).__name__)
        wanted = error.validator_value
        return f"{field} is {seen}, not {'an' if wanted in ('integer', 'array') else 'a'} {wanted}"
    if error.validator == "const":
        return f"{field} is {_short(error.instance)}, not {error.validator_value!r}"
    return f"{field}: {error.message[:_SHOWN]}"


@check("CASDOOR-notify-schema")
def schema(body_text: str) -> dict[str, Any]:
    """The notification body parsed: a JSON object with exactly the documented fields and types."""
    expected = (
        "a JSON object with exactly owner, name, displayName, email, phone, id, event "
        f"{EVENT!r}, sessionIds and accessTokenHashes (arrays of strings), nonce, "
        "timestamp (integer) and signature"
    )
    try:
        payload = json.loads(body_text)
    except ValueError:
        raise Violation(
            expected=expected, seen=f"a body that is not JSON ({len(body_text)} characters)"
        ) from None
    if not isinstance(payload, dict):
        raise Violation(expected=expected, seen=describe_body(payload))
    spec = yamlsrc.schema("casdoor-notification")
    problems = []
    missing = [name for name in spec["required"] if name not in payload]
    if missing:
        problems.append(f"no field {', '.join(missing)}")
    extra = sorted(_short(name) for name in payload if name not in spec["properties"])
    if extra:
        problems.append(f"unexpected field {', '.join(extra)}")
    # "required" and "additionalProperties" give one error per field: said above in one line each
    problems += [
        _type_problem(error)
        for error in sorted(_Validator(spec).iter_errors(payload), key=lambda e: e.json_path)
        if error.validator not in ("required", "additionalProperties")
    ]
    if problems:
        raise Violation(expected=expected, seen="; ".join(problems))
    return payload


def _describe_signature(sent: str, digest: bytes) -> str:
    """What is wrong with a signature that does not match, from well-known slips; never the HMAC."""
    sent_bytes = sent.encode("utf-8")
    if hmac.compare_digest(sent.lower().encode("utf-8"), digest.hex().encode("ascii")):
        return "the right HMAC-SHA256 in upper-case hex (the documented verifiers want lowercase)"
    for encoding in (base64.b64encode, base64.urlsafe_b64encode):
        text = encoding(digest)
        if any(hmac.compare_digest(sent_bytes, form) for form in (text, text.rstrip(b"="))):
            return "the right HMAC-SHA256, but base64- instead of hex-encoded"
    return f"a signature of {len(sent)} characters that does not match"


@check("CASDOOR-notify-signature")
def signature(payload: Mapping[str, Any], secret: str) -> None:
    """``signature`` is the lowercase hex HMAC-SHA256, keyed with the client secret, of
    ``signed_string`` (compared in constant time)."""
    shown = _masked_signed_string(payload)
    expected = (
        "signature = lowercase hex HMAC-SHA256 with the client secret over "
        f"owner|name|nonce|timestamp|sessionIds|accessTokenHashes, here {shown!r} "
        "(session ids masked)"
    )
    sent = payload.get("signature")
    if not isinstance(sent, str) or not sent:
        raise Violation(expected=expected, seen=f"signature is {_short(sent)}")
    digest = _hmac(payload, secret)
    if not hmac.compare_digest(sent.encode("utf-8"), digest.hex().encode("ascii")):
        raise Violation(expected=expected, seen=_describe_signature(sent, digest))


@check("CASDOOR-notify-timestamp")
def fresh(
    payload: Mapping[str, Any], now: float, max_age: float = 300, max_future: float = 60
) -> None:
    """``timestamp`` is the Unix second the notification was made: at most ``max_age`` seconds
    before ``now`` and ``max_future`` after it (clock skew)."""
    expected = (
        f"timestamp in Unix seconds, from {max_age:g} s before to {max_future:g} s after "
        f"the harness clock ({int(now)})"
    )
    timestamp = payload.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise Violation(expected=expected, seen=f"timestamp is {_short(timestamp)}")
    age = now - timestamp
    if -max_future <= age <= max_age:
        return
    if timestamp > now * 100:
        seen = f"timestamp {timestamp}, which looks like milliseconds"
    elif age > 0:
        seen = f"timestamp {timestamp}, {age:.0f} s before the harness clock"
    else:
        seen = f"timestamp {timestamp}, {-age:.0f} s after the harness clock"
    raise Violation(expected=expected, seen=seen)


@check("CASDOOR-notify-nonce")
def unique_nonce(payload: Mapping[str, Any], seen: Collection[str]) -> None:
    """``nonce`` is a non-empty string not in ``seen`` (the nonces of the other notifications)."""
    expected = "a nonce of its own in every notification"
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise Violation(expected=expected, seen=f"nonce is {_short(nonce)}")
    if nonce in seen:
        raise Violation(
            expected=expected,
            seen=f"nonce {_short(nonce)} again, seen in one of {len(seen)} earlier notifications",
        )


def _string_list(payload: Mapping[str, Any], name: str, expected: str) -> list[str]:
    value = payload.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Violation(expected=expected, seen=f"{name} is not an array of strings")
    return value


@check("CASDOOR-notify-sessions")
def sessions(payload: Mapping[str, Any], expected_ids: Collection[str], exact: bool = True) -> str | None:
    """``sessionIds`` lists exactly the sessions that ended, ``expected_ids`` (shown masked).

    Not ``exact`` (a logout of all the user's sessions, some of which the harness did not open):
    at least those; the others are a note.
    """
    expected = f"sessionIds listing {'exactly ' if exact else ''}the {len(expected_ids)} session(s) that ended"
    listed = set(_string_list(payload, "sessionIds", expected))
    missing = sorted(mask(i) for i in set(expected_ids) - listed)
    extra = sorted(mask(i) for i in listed - set(expected_ids)) if exact else []
    if not exact and not missing and len(listed) > len(expected_ids):
        return f"sessionIds also lists {len(listed) - len(expected_ids)} other session(s) of the user"
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"extra {', '.join(extra)} (a session that did not end)"] if extra else []
        raise Violation(expected=expected, seen="; ".join(parts))
    return None


def _describe_hash(entry: str, tokens: Mapping[str, str]) -> str:
    """An ``accessTokenHashes`` entry that is not expected: its short hash, never a token."""
    if entry in tokens.values():
        return f"{mask(entry)} (a token in clear, not its hash)"
    if entry.lower() in tokens:
        return f"sha256:{entry[:8].lower()} in upper-case hex"
    if len(entry) != 64 or any(c not in "0123456789abcdef" for c in entry):
        return f"{mask(entry)} (not a lowercase hex SHA-256)"
    return f"sha256:{entry[:8]}"


@check("CASDOOR-notify-token-hashes")
def token_hashes(payload: Mapping[str, Any], expected_tokens: list[str], exact: bool = True) -> str | None:
    """``accessTokenHashes`` is exactly the lowercase hex SHA-256 of ``expected_tokens``.

    Hashes are shown by their first 8 hex digits, which is what ``redact.mask`` shows of a token.
    """
    expected = (
        f"accessTokenHashes holding exactly the SHA-256 of the {len(expected_tokens)} access "
        "token(s) that ended"
    )
    listed = set(_string_list(payload, "accessTokenHashes", expected))
    tokens = {token_hash(t): t for t in expected_tokens}
    missing = sorted(f"sha256:{h[:8]}" for h in set(tokens) - listed)
    extra = sorted(_describe_hash(entry, tokens) for entry in listed - set(tokens)) if exact else []
    if not exact and not missing and len(listed) > len(tokens):
        return f"accessTokenHashes also lists {len(listed) - len(tokens)} other token(s) of the user"
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"extra {', '.join(extra)}"] if extra else []
        raise Violation(expected=expected, seen="; ".join(parts))
    return None


# ---- the SSO logout API and its effect ----------------------------------------------------------


@check("CASDOOR-sso-logout-api")
def answered_ok(status: int, body: object, content_type: str | None = None) -> None:
    """An authenticated call succeeds: HTTP 200, {"status": "ok", "msg", "data"}."""
    if status == 200 and isinstance(body, dict) and body.get("status") == "ok" and {"msg", "data"} <= body.keys():
        return
    shown = f"status {body.get('status')!r}, msg {str(body.get('msg'))[:80]!r}" if isinstance(body, dict) \
        else describe_body(body, content_type)
    raise Violation(expected='HTTP 200 with {"status": "ok", "msg": ..., "data": ...}', seen=f"HTTP {status}, {shown}")


@check("CASDOOR-sso-logout-api")
def refused(status: int, body: object) -> None:
    """An unauthenticated call logs nobody out and says so: never status ok."""
    if isinstance(body, dict) and body.get("status") == "ok":
        raise Violation(expected='an error for a call without authentication (status "error" or HTTP 401)',
                        seen=f'HTTP {status} with status "ok"')


@check("CASDOOR-sso-logout-api")
def call_effect(label: str, alive: bool, should_end: bool) -> None:
    """The call ended the caller's session when authenticated, and nothing when not."""
    if should_end and alive:
        raise Violation(expected=f"{label} is over after an authenticated SSO logout", seen="it is still alive")
    if not should_end and not alive:
        raise Violation(expected=f"{label} survives an SSO logout call without authentication",
                        seen="it ended")


@check("CASDOOR-logoutAll")
def scope(label: str, alive: bool, should_end: bool, logout_all: str) -> None:
    """logoutAll true, 1, empty or absent ends every session of the user; any other value only the current one."""
    mode = "all sessions" if should_end else "the current session only"
    if should_end == alive:
        raise Violation(expected=f"logoutAll={logout_all} ends {mode}: {label} {'over' if should_end else 'alive'}",
                        seen=f"{label} is {'still alive' if alive else 'over'}")


@check("CASDOOR-tokens-invalid")
def token_rejected(what: str, status: int, body: object) -> None:
    """After SSO logout, a refresh is refused (invalid_grant) and introspection says inactive."""
    if what == "introspection":
        if isinstance(body, dict) and body.get("active") is True:
            raise Violation(expected="introspection of the access token says active: false", seen="active: true")
        return
    if status == 200:
        raise Violation(expected="the refresh grant refused (invalid_grant)", seen="HTTP 200: new tokens were issued")


@check("CASDOOR-notify-sent")
def notified(expected_receivers: Collection[str], got: Collection[str]) -> None:
    """Every configured receiver got a notification about this logout."""
    missing = sorted(set(expected_receivers) - set(got))
    if missing:
        raise Violation(expected=f"a notification at each of the {len(expected_receivers)} configured receivers",
                        seen=f"none reached {', '.join(missing)}")


# ---- the sender ----------------------------------------------------------------------------------


def build(
    owner: str,
    name: str,
    user_id: str,
    session_ids: list[str],
    token_hashes: list[str],
    secret: str,
    *,
    display_name: str,
    email: str,
    phone: str,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A valid notification, signed with ``secret``; a fresh random nonce and the current second
    unless given. ``token_hashes`` are hashes already (``token_hash``)."""
    payload: dict[str, Any] = {
        "owner": owner,
        "name": name,
        "displayName": display_name,
        "email": email,
        "phone": phone,
        "id": user_id,
        "event": EVENT,
        "sessionIds": list(session_ids),
        "accessTokenHashes": list(token_hashes),
        "nonce": secrets.token_urlsafe(16) if nonce is None else nonce,
        "timestamp": int(time.time()) if timestamp is None else timestamp,
    }
    payload["signature"] = sign(payload, secret)
    return payload


@dataclass(frozen=True)
class Variant:
    """A forged notification body: what it breaks, and what a conformant webhook may answer.

    Called with a valid payload and the client secret, it returns the body to POST.
    """

    requirement: str
    description: str
    make: Callable[[Mapping[str, Any], str], str]
    #: "reject" alone unless the documented contract also allows accepting it
    acceptable: tuple[Outcome, ...] = ("reject",)

    def __call__(self, payload: Mapping[str, Any], secret: str) -> str:
        return self.make(payload, secret)


def _resigned(payload: Mapping[str, Any], secret: str, **changes: Any) -> str:
    changed = {**payload, **changes}
    changed.pop("signature", None)
    changed["signature"] = sign(changed, secret)
    return encode(changed)


def _bad_signature(payload: Mapping[str, Any], secret: str) -> str:
    good = sign(payload, secret)
    flipped = "0" if good[-1] != "0" else "1"
    return encode({**payload, "signature": good[:-1] + flipped})


def _wrong_secret(payload: Mapping[str, Any], secret: str) -> str:
    return _resigned(payload, secrets.token_urlsafe(24))


def _stale(payload: Mapping[str, Any], secret: str) -> str:
    return _resigned(payload, secret, timestamp=payload["timestamp"] - _SKEW_S)


def _future(payload: Mapping[str, Any], secret: str) -> str:
    return _resigned(payload, secret, timestamp=payload["timestamp"] + _SKEW_S)


def _missing_field(payload: Mapping[str, Any], secret: str) -> str:
    rest = {k: v for k, v in payload.items() if k != "nonce"}
    # signed over an empty nonce: what a receiver reading the absent field with a default computes
    return _resigned(rest, secret)


def _extra_field(payload: Mapping[str, Any], secret: str) -> str:
    # admin is not a signed field: the signature stays valid
    return encode({**payload, "admin": True, "signature": sign(payload, secret)})


def _wrong_type(payload: Mapping[str, Any], secret: str) -> str:
    # the same texts in the signed string, so only the types are wrong
    return _resigned(
        payload,
        secret,
        timestamp=str(payload["timestamp"]),
        sessionIds=",".join(payload["sessionIds"]),
    )


def _not_json(payload: Mapping[str, Any], secret: str) -> str:
    # a valid body cut short by one character: a parser that tolerates it acts on a guess
    return encode({**payload, "signature": sign(payload, secret)})[:-1]


#: the forged bodies a receiving webhook must refuse (CASDOOR-receiver-*); replay is the valid body
#: sent twice (CASDOOR-receiver-replay)
VARIANTS: dict[str, Variant] = {
    "bad-signature": Variant(
        "CASDOOR-receiver-signature",
        "a valid notification with one hex digit of its signature flipped",
        _bad_signature,
    ),
    "wrong-secret": Variant(
        "CASDOOR-receiver-signature",
        "a notification signed with another secret than the application's client secret",
        _wrong_secret,
    ),
    "stale": Variant(
        "CASDOOR-receiver-timestamp",
        "a correctly signed notification whose timestamp is an hour old",
        _stale,
    ),
    "future": Variant(
        "CASDOOR-receiver-timestamp",
        "a correctly signed notification whose timestamp is an hour ahead",
        _future,
        # the documentation's own receiver only rejects notifications that are too old
        acceptable=("accept", "reject"),
    ),
    "missing-field": Variant(
        "CASDOOR-receiver-schema",
        "a notification without nonce, signed over an empty nonce",
        _missing_field,
    ),
    "extra-field": Variant(
        "CASDOOR-receiver-schema",
        'a validly signed notification with an extra field "admin": true',
        _extra_field,
    ),
    "wrong-type": Variant(
        "CASDOOR-receiver-schema",
        "a validly signed notification with timestamp and sessionIds as strings",
        _wrong_type,
    ),
    "not-json": Variant(
        "CASDOOR-receiver-schema",
        "a body that is not JSON (a valid notification cut short)",
        _not_json,
    ),
}
