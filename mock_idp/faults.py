"""The fault catalog: named deviations the mock IdP can be switched into, each breaking one requirement.

To add a fault, add one `Fault(...)` to FAULTS below and test for its name (`"name" in self.faults`)
at the exact place in the code where the deviation happens.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    requirement: str
    description: str


def _catalog(*faults: Fault) -> dict[str, Fault]:
    catalog: dict[str, Fault] = {}
    for fault in faults:
        if fault.name in catalog:
            raise ValueError(f"fault {fault.name!r} is in the catalog twice")
        catalog[fault.name] = fault
    return catalog


FAULTS: dict[str, Fault] = _catalog(
    # OpenID Connect RP-Initiated Logout 1.0
    Fault(
        "no-end-session-metadata",
        "OIDCRIL-2.1",
        "Discovery metadata leaves out end_session_endpoint.",
    ),
    Fault(
        "end-session-get-only",
        "OIDCRIL-2-methods",
        "The end-session endpoint answers POST with 405 Method Not Allowed.",
    ),
    Fault(
        "hint-alg-none-accepted",
        "OIDCRIL-4-hint",
        "An id_token_hint with alg none is taken as valid, and the OP then logs out without asking.",
    ),
    Fault(
        "hint-signature-unchecked",
        "OIDCRIL-4-hint",
        "The signature of an id_token_hint is not verified, so a hint signed by any key is accepted.",
    ),
    Fault(
        "expired-hint-rejected",
        "OIDCRIL-4-expired",
        "An expired id_token_hint is rejected with an error page.",
    ),
    Fault(
        "client-id-mismatch-ignored",
        "OIDCRIL-2-client-id",
        "A client_id that differs from the audience of the id_token_hint is ignored.",
    ),
    Fault(
        "no-confirmation",
        "OIDCRIL-2-confirm",
        "The OP never asks for confirmation and logs the browser's session out at once, "
        "even without an id_token_hint.",
    ),
    Fault(
        "foreign-hint-no-confirm",
        "OIDCRIL-2-confirm",
        "With a valid id_token_hint for another session, the OP logs the browser's session out "
        "without asking.",
    ),
    Fault(
        "logout-keeps-session",
        "OIDCRIL-2-logout",
        "After the user confirms, the OP answers as if logged out but keeps the session "
        "and its cookie alive.",
    ),
    Fault(
        "redirect-prefix-match",
        "OIDCRIL-3-exact",
        "post_logout_redirect_uri is matched by prefix, so a registered URI with an added query "
        "is followed.",
    ),
    Fault(
        "redirect-unregistered",
        "OIDCRIL-3-exact",
        "Any post_logout_redirect_uri is followed, registered or not.",
    ),
    Fault(
        "redirect-without-hint",
        "OIDCRIL-2-uri-needs-hint",
        "A post_logout_redirect_uri registered for any client is followed even when neither "
        "id_token_hint nor client_id identifies the client.",
    ),
    Fault(
        "state-dropped",
        "OIDCRIL-3-state",
        "The state parameter is not returned on the post-logout redirect.",
    ),
    Fault(
        "state-invented",
        "OIDCRIL-3-state",
        "A state parameter is added to the post-logout redirect when the RP sent none.",
    ),
    Fault(
        "error-when-logged-out",
        "OIDCRIL-2-not-logged-in",
        "A valid logout request from a browser without a session gets a 400 error page.",
    ),
    # Tokens after logout (the harness's composite checks)
    Fault(
        "refresh-survives-logout",
        "LOGOUT-TR-refresh",
        "Logout leaves the session's refresh tokens valid.",
    ),
    Fault(
        "access-survives-logout",
        "LOGOUT-TR-introspect",
        "Logout leaves the session's access tokens active for introspection and userinfo.",
    ),
    Fault(
        "userinfo-ignores-logout",
        "LOGOUT-TR-userinfo",
        "The userinfo endpoint still accepts access tokens of a logged-out session.",
    ),
    Fault(
        "logout-ends-all-sessions",
        "LOGOUT-TR-precision",
        "Logout ends every session of the user and revokes their tokens, "
        "not only the browser's session.",
    ),
    # RFC 7009: OAuth 2.0 Token Revocation
    Fault(
        "revocation-ignored",
        "RFC7009-2.1-refresh",
        "The revocation endpoint answers 200 but leaves refresh tokens valid.",
    ),
    Fault(
        "revoke-access-unsupported",
        "RFC7009-2.1-access",
        "Revoking an access token answers 400 unsupported_token_type.",
    ),
    Fault(
        "revoke-refresh-keeps-access",
        "RFC7009-2.1-grant",
        "Revoking a refresh token leaves the access tokens of the same grant active.",
    ),
    Fault(
        "revoke-hint-strict",
        "RFC7009-2.1-hint",
        "A token is only looked for where token_type_hint says, so a wrong hint leaves it unrevoked.",
    ),
    Fault(
        "revoke-any-client",
        "RFC7009-2.1-client",
        "A client can revoke tokens issued to another client.",
    ),
    Fault(
        "revoke-unknown-400",
        "RFC7009-2.2-unknown",
        "Revoking an unknown token answers 400 invalid_request.",
    ),
    # RFC 7662: OAuth 2.0 Token Introspection
    Fault(
        "introspection-open",
        "RFC7662-2.1-auth",
        "The introspection endpoint answers without client authentication.",
    ),
    Fault(
        "introspection-revoked-active",
        "RFC7662-2.2-inactive",
        "Introspection says active: true for revoked tokens.",
    ),
    Fault(
        "introspection-inactive-details",
        "RFC7662-2.2-no-details",
        "Inactive introspection responses say why the token is inactive.",
    ),
    # SAML 2.0 Single Logout: the mock's SAML IdP (mock_idp/saml/)
    Fault(
        "saml-no-session-index",
        "SAMLProf-4.1.4.2-sessionindex",
        "The AuthnStatement of a login assertion carries no SessionIndex.",
    ),
    Fault(
        "saml-accept-unsigned-logout",
        "SAMLCore-3.7.3.2-auth",
        "An unsigned LogoutRequest is acted on although the SP's logout messages must be signed.",
    ),
    Fault(
        "saml-accept-bad-signature",
        "SAMLCore-3.7.3.2-auth",
        "The signature of a LogoutRequest is not verified, so one made by any key is accepted.",
    ),
    Fault(
        "saml-ignore-session-index",
        "SAMLCore-3.7.3.2-sessions",
        "A LogoutRequest ends every session of the principal whatever its SessionIndex says, "
        "even an unknown one.",
    ),
    Fault(
        "saml-nameid-mismatch-logout",
        "SAMLCore-3.7.3.2-sessions",
        "The browser's session ends even when the LogoutRequest's NameID names another principal.",
    ),
    Fault(
        "saml-partial-top-level",
        "SAMLCore-3.2.2.2-status",
        "A logout that a participant failed is answered with PartialLogout as the top-level "
        "StatusCode.",
    ),
    Fault(
        "saml-skip-participant",
        "SAMLCore-3.7.3.2-propagate",
        "The last session participant is never sent a LogoutRequest.",
    ),
    Fault(
        "saml-propagate-no-expiry",
        "SAMLProf-4.4.3.3-notonorafter",
        "The LogoutRequests the IdP propagates carry no NotOnOrAfter.",
    ),
    Fault(
        "saml-relaystate-altered",
        "SAMLBind-3.4.3-relaystate",
        "The RelayState sent back with the LogoutResponse is cut short, not the one received.",
    ),
    Fault(
        "saml-unsigned-logout-response",
        "SAMLProf-4.4.4.2-signed",
        "LogoutResponses are sent unsigned over the front channel.",
    ),
    Fault(
        "saml-wrong-in-response-to",
        "SAMLCore-3.2.2-inresponseto",
        "A LogoutResponse's InResponseTo is not the ID of the request it answers.",
    ),
    Fault(
        "saml-destination-unchecked",
        "SAMLCore-3.2.1-destination",
        "A LogoutRequest whose Destination is another endpoint is acted on.",
    ),
    Fault(
        "saml-http-error-status",
        "SAMLBind-3.4.6-errors",
        "A LogoutRequest that is refused gets an HTTP 400 error page instead of a LogoutResponse "
        "with an error status.",
    ),
    Fault(
        "saml-accept-replay",
        "SAMLSec-replay",
        "A LogoutRequest sent again with the same ID is acted on again.",
    ),
    Fault(
        "saml-success-without-logout",
        "SAMLCore-3.7.3.2-status",
        "A LogoutRequest is answered Success but the IdP session stays alive.",
    ),
    # OpenID Connect Back-Channel Logout 1.0
    Fault(
        "bcl-not-sent",
        "OIDCBCL-2.5-sent",
        "No logout token is sent at all when a session ends.",
    ),
    Fault(
        "bcl-unsigned",
        "OIDCBCL-2.4-signed",
        "Logout tokens are unsigned, with alg none.",
    ),
    Fault(
        "bcl-foreign-key",
        "OIDCBCL-2.4-signed",
        "Logout tokens are signed by a key that is not in the JWKS, under the kid of the OP's "
        "real key.",
    ),
    Fault(
        "bcl-unknown-kid",
        "OIDCBCL-2.4-signed",
        "Logout tokens name a kid that is not in the JWKS.",
    ),
    Fault(
        "bcl-crit",
        "OIDCBCL-2.4-signed",
        "Logout tokens carry a crit header naming an extension no one understands "
        "(urn:example:unknown), with that member.",
    ),
    Fault(
        "bcl-not-jwt",
        "OIDCBCL-2.4-signed",
        "The logout_token sent is an opaque string, not a JWT at all.",
    ),
    Fault(
        "bcl-huge",
        "OIDCBCL-2.5-request",
        "Logout tokens are padded with a claim of 1 MiB.",
    ),
    Fault(
        "bcl-json-body",
        "OIDCBCL-2.5-request",
        'The logout token is POSTed as a JSON object {"logout_token": ...}, not form-encoded.',
    ),
    Fault(
        "bcl-no-typ",
        "OIDCBCL-2.4-typ",
        "Logout tokens have no typ header (logout+jwt is recommended).",
    ),
    Fault(
        "bcl-wrong-iss",
        "OIDCBCL-2.4-iss",
        "Logout tokens name another issuer than the OP's.",
    ),
    Fault(
        "bcl-wrong-aud",
        "OIDCBCL-2.4-aud",
        "Logout tokens are addressed to another audience than the RP's client_id.",
    ),
    Fault(
        "bcl-no-iat",
        "OIDCBCL-2.4-iat",
        "Logout tokens have no iat.",
    ),
    Fault(
        "bcl-no-exp",
        "OIDCBCL-2.4-exp",
        "Logout tokens have no exp.",
    ),
    Fault(
        "bcl-no-jti",
        "OIDCBCL-2.4-jti",
        "Logout tokens have no jti.",
    ),
    Fault(
        "bcl-repeated-jti",
        "OIDCBCL-2.4-jti",
        "Every logout token of the run carries the same jti.",
    ),
    Fault(
        "bcl-no-events",
        "OIDCBCL-2.4-events",
        "Logout tokens have no events claim.",
    ),
    Fault(
        "bcl-event-not-object",
        "OIDCBCL-2.4-events",
        "The back-channel logout event's value is true, not a JSON object.",
    ),
    Fault(
        "bcl-event-not-empty",
        "OIDCBCL-2.4-events-empty",
        "The back-channel logout event's value is an object with a reason member, not {}.",
    ),
    Fault(
        "bcl-nonce",
        "OIDCBCL-2.4-nonce",
        "Logout tokens carry a nonce.",
    ),
    Fault(
        "bcl-no-sid",
        "OIDCBCL-2.4-sid",
        "Logout tokens leave out sid, even for RPs that require it.",
    ),
    Fault(
        "bcl-wrong-sid",
        "OIDCBCL-2.4-sid",
        "Logout tokens carry a random sid, not the one of the session that ended.",
    ),
    Fault(
        "bcl-wrong-sub",
        "OIDCBCL-2.4-sub-sid",
        "Logout tokens name another sub than the End-User's.",
    ),
    Fault(
        "bcl-no-sub-no-sid",
        "OIDCBCL-2.4-sub-sid",
        "Logout tokens carry neither sub nor sid.",
    ),
    Fault(
        "bcl-all-clients",
        "OIDCBCL-2.3-recipients",
        "Logout tokens also go to RPs that were never logged in through the session.",
    ),
    Fault(
        "bcl-retry-at-once",
        "OIDCBCL-2.8-retry",
        "After an error answer, the logout token is resent three times at once, without delay.",
    ),
    Fault(
        "bcl-resend-after-success",
        "OIDCBCL-2.8-retry",
        "Every logout token is sent twice, even after the RP answered 200.",
    ),
    Fault(
        "bcl-no-metadata",
        "OIDCBCL-2.1-metadata",
        "Discovery says backchannel_logout_supported false, yet logout tokens are sent.",
    ),
    Fault(
        "bcl-id-token-no-sid",
        "OIDCBCL-2.1-session-sid",
        "ID tokens carry no sid although discovery says backchannel_logout_session_supported.",
    ),
    Fault(
        "bcl-casdoor-not-sent",
        "OIDCBCL-2.5-sent",
        "The Casdoor SSO logout sends no logout tokens; the end-session endpoint still does.",
    ),
    # OpenID Connect Front-Channel Logout 1.0 (mock_idp/frontchannel.py, the logged-out page)
    Fault(
        "fcl-no-iframes",
        "OIDCFCL-3-rendered",
        "The logged-out page renders no iframes: the RPs' front-channel logout URIs are never "
        "loaded and the browser is redirected as without them.",
    ),
    Fault(
        "fcl-first-rp-only",
        "OIDCFCL-3-rendered",
        "Only the first front-channel RP the session logged in to gets an iframe on the logged-out "
        "page.",
    ),
    Fault(
        "fcl-iss-only",
        "OIDCFCL-2-iss-sid",
        "The front-channel logout URIs get iss but no sid.",
    ),
    Fault(
        "fcl-wrong-sid",
        "OIDCFCL-2-values",
        "The sid added to the front-channel logout URIs is a fresh random value, not the session's.",
    ),
    Fault(
        "fcl-no-session-params",
        "OIDCFCL-2-session-required",
        "Neither iss nor sid is added to the front-channel logout URIs, even for RPs registered "
        "with frontchannel_logout_session_required.",
    ),
    Fault(
        "fcl-query-dropped",
        "OIDCFCL-2-query",
        "The front-channel logout URI's own query is dropped when iss and sid are added.",
    ),
    Fault(
        "fcl-redirect-first",
        "OIDCFCL-3-before-redirect",
        "A script in the logged-out page's <head> sends the browser to the post-logout redirect at "
        "once, before the iframes are parsed.",
    ),
    Fault(
        "fcl-no-discovery",
        "OIDCFCL-3-metadata",
        "Discovery metadata leaves out frontchannel_logout_supported and "
        "frontchannel_logout_session_supported.",
    ),
    # Casdoor single sign-out (the mock's Casdoor dialect: mock_idp/casdoor.py)
    Fault(
        "casdoor-get-refused",
        "CASDOOR-sso-logout-api",
        "GET /api/sso-logout answers 405 Method Not Allowed.",
    ),
    Fault(
        "casdoor-logout-all-ignored",
        "CASDOOR-logoutAll",
        "logoutAll=true (or absent) ends only the current session.",
    ),
    Fault(
        "casdoor-session-only-ends-all",
        "CASDOOR-logoutAll",
        "logoutAll=false ends every session of the user.",
    ),
    Fault(
        "casdoor-no-notification",
        "CASDOOR-notify-sent",
        "SSO logout sends no logout notifications.",
    ),
    Fault(
        "casdoor-missing-field",
        "CASDOOR-notify-schema",
        "Logout notifications leave out phone and send timestamp as a string.",
    ),
    Fault(
        "casdoor-bad-signature",
        "CASDOOR-notify-signature",
        "Logout notifications are signed over the fields in another order (timestamp before nonce).",
    ),
    Fault(
        "casdoor-stale-timestamp",
        "CASDOOR-notify-timestamp",
        "Logout notifications say they were made an hour ago.",
    ),
    Fault(
        "casdoor-fixed-nonce",
        "CASDOOR-notify-nonce",
        "Every logout notification carries the same nonce.",
    ),
    Fault(
        "casdoor-all-sessions-listed",
        "CASDOOR-notify-sessions",
        "A session-only logout lists every session of the user in sessionIds, not only the one "
        "that ended.",
    ),
    Fault(
        "casdoor-raw-token-hashes",
        "CASDOOR-notify-token-hashes",
        "accessTokenHashes are SHA-1, not SHA-256, hashes of the access tokens.",
    ),
    Fault(
        "casdoor-tokens-survive",
        "CASDOOR-tokens-invalid",
        "Access and refresh tokens stay valid after SSO logout.",
    ),
    # Federated logout through a chain of identity providers (mock_idp/upstream.py, federation.py)
    Fault(
        "upstream-logout-skipped",
        "AUTH0-federated",
        "A federated logout never reaches the upstream identity provider: the browser goes "
        "straight to returnTo and the upstream session lives on.",
    ),
    Fault(
        "chain-broken-after-first-hop",
        "AUTH0-federated-return",
        "After the upstream identity provider's logout the browser is not sent on to returnTo: "
        "it ends on a signed-out page of the mock.",
    ),
    Fault(
        "saml-logout-without-session-index",
        "AUTH0-saml-session-index",
        "The LogoutRequest of a federated logout to a SAML upstream leaves out SessionIndex, even "
        "when the login assertion carried one.",
    ),
    # Auth0's logout endpoint (the mock's Auth0 dialect: mock_idp/auth0.py, mock_idp/allowlist.py)
    Fault(
        "auth0-prefix-match",
        "AUTH0-returnTo-allowlist",
        "An allowed logout URL matches any returnTo that starts with it, so "
        "https://app.example allows https://app.example.evil.example/.",
    ),
    Fault(
        "auth0-host-suffix-match",
        "AUTH0-returnTo-allowlist",
        "The host of returnTo only has to end with the entry's host, so app.example allows "
        "evilapp.example.",
    ),
    Fault(
        "auth0-userinfo-confused",
        "AUTH0-returnTo-allowlist",
        "returnTo with userinfo is matched on what comes before the @, so "
        "https://app.example@evil.example/ passes as app.example.",
    ),
    Fault(
        "auth0-scheme-relative",
        "AUTH0-returnTo-allowlist",
        "A returnTo that is no absolute URL (//host/path, https:host/path) is resolved against the "
        "entry as a browser would and followed as sent.",
    ),
    Fault(
        "auth0-decodes-returnTo",
        "AUTH0-returnTo-allowlist",
        "returnTo is percent-decoded once more before matching but followed as sent, so "
        "https://app.example%2Fbye%3F@evil.example/ passes as https://app.example/bye.",
    ),
    Fault(
        "auth0-wildcard-crosses-dots",
        "AUTH0-returnTo-wildcard",
        "The * of a wildcard entry matches several labels: http://*.example.com allows "
        "http://a.b.example.com.",
    ),
    Fault(
        "auth0-wildcard-any-scheme",
        "AUTH0-returnTo-wildcard",
        "A wildcard entry matches returnTo values of the other scheme and of any port.",
    ),
    Fault(
        "auth0-query-compared",
        "AUTH0-returnTo-query",
        "The query and fragment of returnTo are compared too, so an allowed URL with a query or "
        "fragment is refused.",
    ),
    Fault(
        "auth0-tenant-list-with-client-id",
        "AUTH0-returnTo-lists",
        "With client_id, returnTo is checked against the tenant's list instead of the "
        "application's.",
    ),
    Fault(
        "auth0-client-list-without-client-id",
        "AUTH0-returnTo-lists",
        "Without client_id, every application's list is accepted as well as the tenant's.",
    ),
    Fault(
        "auth0-session-kept",
        "AUTH0-logout-session",
        "/v2/logout answers as usual but keeps the OP session and its cookie alive.",
    ),
    Fault(
        "auth0-refused-redirect-page",
        "AUTH0-returnTo-allowlist",
        "A refused returnTo gets an error page whose meta refresh and script send the browser "
        "there all the same.",
    ),
    Fault(
        "auth0-federated-ignored",
        "AUTH0-federated",
        "The federated parameter is ignored: the upstream identity provider is never asked to "
        "log the user out.",
    ),
)


def check_fault_names(names: frozenset[str]) -> None:
    """Raise ValueError naming the first unknown fault and listing the known ones."""
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}; known faults: {', '.join(FAULTS)}")
