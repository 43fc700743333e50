"""Checks of a command-line tool's logout, the Salesforce CLI and Atmos contracts: https://developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_auth_logout.htm

Each check takes what the steps saw, already reduced to names (``~/.config/tool/credentials``,
``keyring:service/user``), exit codes and yes/no answers, and raises a ``Violation`` naming its
requirement. Tokens never reach a check: the steps pass where a token was found, not the token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from harness.checks import check
from harness.errors import Violation

__all__ = [
    "all_removed",
    "best_effort",
    "browser_reminder",
    "chain_removed",
    "credentials_removed",
    "dry_run_listed_exactly",
    "dry_run_removed_nothing",
    "exited_zero",
    "no_secret_printed",
    "not_listed",
    "others_untouched",
    "partial_exit_nonzero",
    "provider_removed",
    "refresh_token_revoked",
    "removed_without_idp",
    "repeat_harmless",
    "status_fails",
]

#: names listed in a message, the rest counted
SHOWN = 6


def names(items: Iterable[str]) -> str:
    listed = list(items)
    head = ", ".join(listed[:SHOWN])
    return head + (f" and {len(listed) - SHOWN} more" if len(listed) > SHOWN else "")


def _by_owner(left: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(f"{owner}: {names(items)}" for owner, items in left.items() if items)


@check("SFCLI-local-removed")
def credentials_removed(identity: str, left: Sequence[str], copies: Sequence[str]) -> None:
    """Every credential item the login created is gone, and no copy of its tokens is left anywhere."""
    if not left and not copies:
        return
    seen = [f"still there: {names(left)}"] if left else []
    seen += [f"a token the login stored is still in: {names(copies)}"] if copies else []
    raise Violation(
        expected=f"every credential file, folder and keyring entry the login of {identity} created removed, "
        "and no copy of its tokens left in the sandbox",
        seen="; ".join(seen),
    )


@check("ATMOS-chain")
def chain_removed(identity: str, chain: Sequence[str], left: Mapping[str, Sequence[str]]) -> None:
    """Nothing of any step of the identity's chain is left (``left``: step -> its items still there)."""
    if any(left.values()):
        raise Violation(
            expected=f"the credentials of every step of the chain of {identity} ({' → '.join(chain)}) removed",
            seen=f"left behind, by step: {_by_owner(left)}",
        )


@check("ATMOS-provider")
def provider_removed(provider: str, left: Mapping[str, Sequence[str]]) -> None:
    """Nothing is left of the provider, nor of any identity through it (``left``: identity -> items)."""
    if any(left.values()):
        raise Violation(
            expected=f"the credentials of {provider} and of every identity that authenticates through it removed",
            seen=f"left behind, by identity: {_by_owner(left)}",
        )


@check("SFCLI-all")
def all_removed(left: Mapping[str, Sequence[str]], still_listed: Sequence[str]) -> None:
    """After logout --all, no identity has credentials left, and the list shows none."""
    if not any(left.values()) and not still_listed:
        return
    seen = [f"left behind, by identity: {_by_owner(left)}"] if any(left.values()) else []
    seen += [f"the list still shows {names(still_listed)}"] if still_listed else []
    raise Violation(expected="the credentials of every identity removed, and none of them listed", seen="; ".join(seen))


@check("LOGOUT-CLI-untouched")
def others_untouched(scope: str, changed: Sequence[str]) -> None:
    """Items of other identities and other programs are as they were (``changed``: "removed X", "changed X")."""
    if changed:
        raise Violation(
            expected=f"the logout of {scope} to leave other identities' credentials and other programs' files "
            "and keyring entries as they were",
            seen=names(changed),
        )


@check("SFCLI-revoke")
def refresh_token_revoked(where: str, requests: int | None, still_works: bool | None) -> str | None:
    """The IdP saw a revocation request for the stored refresh token, and the token no longer works.

    ``requests`` is None when the IdP keeps no record to ask (a real one); ``still_works`` is None when
    the harness could not try a refresh grant.
    """
    expected = f"an RFC 7009 revocation request for the refresh token the tool kept in {where}, after which " \
               "a refresh grant with it fails"
    if requests == 0:
        also = ", and a refresh grant with it still works" if still_works else ""
        raise Violation(expected=expected, seen=f"the IdP saw no revocation request for it{also}")
    if still_works:
        why = f"the IdP saw {requests} revocation request(s) for it, yet " if requests else ""
        raise Violation(expected=expected, seen=f"{why}a refresh grant with it still works after the logout")
    if requests is None and still_works is None:
        raise Violation(expected=expected, seen="nothing: the harness could neither ask the IdP nor try the token")
    if requests is None:
        return "the IdP keeps no record of revocation requests: a refused refresh grant is the evidence"
    return None


@check("SFCLI-list")
def not_listed(identity: str, listed: bool) -> None:
    if listed:
        raise Violation(expected=f"the list of identities without {identity} after its logout",
                        seen=f"the list command still shows {identity}")


@check("SFCLI-display-fails")
def status_fails(identity: str, exit_code: int) -> None:
    if exit_code == 0:
        raise Violation(expected=f"the status of {identity} to fail (a non-zero exit) after its logout",
                        seen="it exits 0, as for an identity logged in")


@check("SFCLI-force-local")
def removed_without_idp(identity: str, left: Sequence[str], exit_code: int) -> str | None:
    """With the IdP out of reach, the local credentials still go; the exit status is the tool's business."""
    if left:
        raise Violation(
            expected=f"the local credentials of {identity} removed although the IdP could not be reached to revoke",
            seen=f"exit {exit_code}, and still there: {names(left)}",
        )
    return None if exit_code else "the logout exited 0 although it could not revoke the refresh token at the IdP"


@check("ATMOS-dry-run")
def dry_run_removed_nothing(removed: Sequence[str], changed: Sequence[str], revoked: Sequence[str]) -> None:
    """A dry run removes no item, changes no credential, and revokes nothing at the IdP."""
    seen = [f"it removed {names(removed)}"] if removed else []
    seen += [f"it changed {names(changed)}"] if changed else []
    seen += [f"the IdP saw a revocation request for the token in {names(revoked)}"] if revoked else []
    if seen:
        raise Violation(expected="a dry run that removes, changes and revokes nothing", seen="; ".join(seen))


@check("ATMOS-dry-run-list")
def dry_run_listed_exactly(unlisted: Sequence[str], not_removed: Sequence[str]) -> None:
    """The dry run listed every credential the real logout removed, and nothing it kept."""
    seen = [f"removed by the logout but not in the dry run's list: {names(unlisted)}"] if unlisted else []
    seen += [f"in the dry run's list but not removed: {names(not_removed)}"] if not_removed else []
    if seen:
        raise Violation(expected="the dry run's list to be exactly what the logout then removes", seen="; ".join(seen))


@check("ATMOS-best-effort")
def best_effort(refused: str, left: Sequence[str], reported: bool) -> None:
    """One removal failed: the others were still done, and the failure was reported by name."""
    seen = [f"still there besides the locked entry: {names(left)}"] if left else []
    seen += [f"the output does not report that removing {refused} failed"] if not reported else []
    if seen:
        raise Violation(
            expected=f"removing {refused} fails (the keyring refuses), every other credential removed all the "
            "same, and the failure reported",
            seen="; ".join(seen),
        )


@check("ATMOS-browser-reminder")
def browser_reminder(shown: bool) -> None:
    if not shown:
        raise Violation(expected="a reminder that the browser session at the identity provider is still active",
                        seen="no such reminder in the logout's output (cli.reminder does not match)")


@check("LOGOUT-CLI-no-secrets")
def no_secret_printed(printed: Sequence[tuple[str, str]]) -> None:
    """No command printed a secret (``printed``: (command, what it printed))."""
    if printed:
        raise Violation(expected="no token, password or client secret in any command's output",
                        seen=names(f"`{command}` printed the {what}" for command, what in printed))


@check("LOGOUT-CLI-repeat")
def repeat_harmless(crash: str | None, created: Sequence[str], changed: Sequence[str]) -> None:
    """A second logout ends without crashing, creates no credential and touches nothing of others."""
    seen = [f"it crashed: {crash}"] if crash else []
    seen += [f"it created {names(created)}"] if created else []
    seen += [f"it touched {names(changed)}"] if changed else []
    if seen:
        raise Violation(expected="logging out again to end normally and change nothing", seen="; ".join(seen))


@check("LOGOUT-CLI-exit")
def exited_zero(command: str, exit_code: int) -> None:
    if exit_code != 0:
        raise Violation(expected=f"`{command}` to exit 0: it did everything it had to",
                        seen=f"exit status {exit_code}")


@check("LOGOUT-CLI-exit-partial")
def partial_exit_nonzero(command: str, exit_code: int) -> None:
    if exit_code == 0:
        raise Violation(expected=f"`{command}` to exit non-zero: a credential could not be removed",
                        seen="exit status 0, as if everything was removed")
