"""Every check of the cli-logout profile fails on the evidence of a bad logout and passes on a good one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness import requirements
from harness.cli_logout import checks
from harness.errors import Violation

#: check, evidence of a conformant logout, evidence of a broken one, words the violation says
CASES: list[tuple[Callable[..., Any], tuple[Any, ...], tuple[Any, ...], str]] = [
    (checks.credentials_removed, ("dev-admin", [], []), ("dev-admin", ["~/.aws/x/credentials"], []),
     "still there: ~/.aws/x/credentials"),
    (checks.credentials_removed, ("dev-admin", [], []), ("dev-admin", [], ["~/.cache/tool/log"]),
     "token the login stored is still in: ~/.cache/tool/log"),
    (checks.chain_removed, ("a", ["p", "a"], {"p": [], "a": []}), ("a", ["p", "m", "a"], {"p": [], "m": ["k:s/m"]}),
     "m: k:s/m"),
    (checks.provider_removed, ("p", {"a": [], "b": []}), ("p", {"a": [], "b": ["keyring:s/b"]}), "b: keyring:s/b"),
    (checks.all_removed, ({"a": []}, []), ({"a": ["keyring:s/a"]}, []), "a: keyring:s/a"),
    (checks.all_removed, ({"a": []}, []), ({"a": []}, ["a"]), "the list still shows a"),
    (checks.others_untouched, ("identity a", []), ("identity a", ["removed keyring:s/b"]), "removed keyring:s/b"),
    (checks.refresh_token_revoked, ("keyring:s/p", 1, False), ("keyring:s/p", 0, False), "saw no revocation request"),
    (checks.refresh_token_revoked, ("keyring:s/p", 1, False), ("keyring:s/p", 1, True), "still works"),
    (checks.refresh_token_revoked, ("keyring:s/p", None, False), ("keyring:s/p", None, None), "could neither"),
    (checks.not_listed, ("a", False), ("a", True), "still shows a"),
    (checks.status_fails, ("a", 1), ("a", 0), "exits 0"),
    (checks.removed_without_idp, ("a", [], 1), ("a", ["keyring:s/a"], 1), "still there: keyring:s/a"),
    (checks.dry_run_removed_nothing, ([], [], []), (["keyring:s/a"], [], []), "removed keyring:s/a"),
    (checks.dry_run_removed_nothing, ([], [], []), ([], ["~/.aws/c"], []), "changed ~/.aws/c"),
    (checks.dry_run_removed_nothing, ([], [], []), ([], [], ["keyring:s/p"]), "revocation request"),
    (checks.dry_run_listed_exactly, ([], []), (["~/.aws/c"], []), "not in the dry run's list: ~/.aws/c"),
    (checks.dry_run_listed_exactly, ([], []), ([], ["keyring entry b"]), "but not removed: keyring entry b"),
    (checks.best_effort, ("keyring:s/a", [], True), ("keyring:s/a", ["keyring:s/b"], True), "keyring:s/b"),
    (checks.best_effort, ("keyring:s/a", [], True), ("keyring:s/a", [], False), "does not report"),
    (checks.browser_reminder, (True,), (False,), "no such reminder"),
    (checks.no_secret_printed, ([],), ([("logout a", "refresh token")],), "`logout a` printed the refresh token"),
    (checks.repeat_harmless, (None, [], []), ("it printed a Python traceback", [], []), "crashed"),
    (checks.repeat_harmless, (None, [], []), (None, ["keyring:s/a"], []), "created keyring:s/a"),
    (checks.repeat_harmless, (None, [], []), (None, [], ["removed ~/.decoy"]), "touched removed ~/.decoy"),
    (checks.exited_zero, ("tool logout a", 0), ("tool logout a", 1), "exit status 1"),
    (checks.partial_exit_nonzero, ("tool logout a", 1), ("tool logout a", 0), "exit status 0"),
]


@pytest.mark.parametrize(("check", "good", "bad", "words"), CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_check_passes_good_and_fails_bad(check: Callable[..., Any], good: tuple[Any, ...], bad: tuple[Any, ...],
                                         words: str) -> None:
    check(*good)
    with pytest.raises(Violation) as info:
        check(*bad)
    violation = info.value
    assert violation.requirement == check.requirement  # type: ignore[attr-defined]
    assert words in violation.seen, violation.seen
    assert violation.expected


def test_every_check_of_the_module_is_exercised_and_cites_the_catalog() -> None:
    exercised = {case[0].__name__ for case in CASES}
    assert exercised == set(checks.__all__)
    for name in checks.__all__:
        requirement = getattr(checks, name).requirement
        assert requirements.get(requirement).id == requirement


def test_information_rather_than_failure() -> None:
    # the IdP keeps no record, but the token is refused: passes, saying what the evidence was
    assert "no record" in (checks.refresh_token_revoked("keyring:s/p", None, False) or "")
    # a forced logout that removed everything but says exit 0 although revocation failed: worth a note
    assert "exited 0" in (checks.removed_without_idp("a", [], 0) or "")
    assert checks.removed_without_idp("a", [], 1) is None


def test_long_lists_are_cut() -> None:
    with pytest.raises(Violation) as info:
        checks.others_untouched("all", [f"removed ~/f{i}" for i in range(10)])
    assert info.value.seen.endswith("and 4 more")
