"""What the snapshots say about a logout: what each login created and stored, what was left, what else changed.

The rules, from the words of the contracts:

- a login's *footprint* is every item it created or changed; its *credentials* are the items it
  created in the tool's credential stores (``cli.credentials``); its *tokens* are the secrets in its
  footprint that were nowhere else before;
- an item *belongs to a chain step* when it is a credential named after the step: a keyring entry whose
  username is the step, or a file or folder with the step as one of its path parts (Atmos keeps
  ``keyring:…/aws-sso`` and ``~/.aws/atmos/aws-sso/``);
- the items a logout must not touch are the decoys and the credentials created by the logins of
  identities that share no chain step with what is logged out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harness.cli_logout.runner import Ran
from harness.cli_logout.snapshot import Item, Snapshot, diff, is_credential
from harness.cli_logout.stored_tokens import Stored, found_in
from harness.target import CliIdentity, CliSettings

__all__ = [
    "Listed",
    "Login",
    "belongs_to",
    "chain_left",
    "changed",
    "copies_left",
    "credentials",
    "dry_run_mismatch",
    "failure_reported",
    "listed_in",
    "printed_secrets",
    "still_there",
]

#: shorter values are not looked for in outputs (they would match innocent text)
MIN_SECRET = 8
#: words of a line that reports a failed removal
_FAILURE = re.compile(r"error|fail|refus|denied|could ?n[o']t|cannot|unable|✗|warning|locked", re.IGNORECASE)


def credentials(settings: CliSettings, items: Iterable[Item]) -> list[str]:
    return sorted(i.name for i in items if is_credential(i, settings.credential_paths, settings.keyring_services))


@dataclass
class Login:
    """One login of an identity: the sandbox before and after it, and what that says."""

    settings: CliSettings = field(repr=False)
    identity: CliIdentity
    before: Snapshot = field(repr=False)
    after: Snapshot = field(repr=False)
    run: Ran = field(repr=False)
    created: list[str] = field(init=False)
    footprint: set[str] = field(init=False)
    credentials: list[str] = field(init=False)
    tokens: list[Stored] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        changes = diff(self.before, self.after)
        self.created = changes.created
        self.footprint = set(changes.touched)
        self.credentials = credentials(self.settings, (self.after[n] for n in self.created))
        mine = found_in(self.after[n] for n in sorted(self.footprint) if n in self.after)
        elsewhere = {s.value for s in found_in(self.before.values())} | {
            s.value for s in found_in(i for n, i in self.after.items() if n not in self.footprint)}
        self.tokens = [s for s in mine if s.value not in elsewhere]

    @property
    def refresh_tokens(self) -> list[Stored]:
        return [s for s in self.tokens if s.is_refresh_token]


def still_there(wanted: Iterable[str], snapshot: Snapshot) -> list[str]:
    return sorted(n for n in wanted if n in snapshot)


def belongs_to(item: Item, step: str) -> bool:
    if item.kind == "keyring":
        entry = item.keyring_entry
        return entry is not None and entry[1] == step
    return step in item.name.split("/")[1:]


def chain_left(settings: CliSettings, chain: Sequence[str], snapshot: Snapshot) -> dict[str, list[str]]:
    """Step -> the credential items of that step still in the snapshot."""
    stored = [snapshot[n] for n in credentials(settings, snapshot.values())]
    return {step: sorted(i.name for i in stored if belongs_to(i, step)) for step in chain}


def copies_left(tokens: Sequence[Stored], snapshot: Snapshot) -> list[str]:
    """Items of the snapshot that still hold one of the tokens."""
    values = [t.value.encode() for t in tokens]
    return sorted(n for n, item in snapshot.items() if item.content and any(v in item.content for v in values))


def changed(wanted: Iterable[str], before: Snapshot, after: Snapshot) -> list[str]:
    """How items of ``before`` fared: "removed X" or "changed X" for those not as they were."""
    out = []
    for name in sorted(set(wanted)):
        if name not in before:
            continue
        if name not in after:
            out.append(f"removed {name}")
        elif after[name] != before[name]:
            out.append(f"changed {name}")
    return out


def printed_secrets(runs: Sequence[Ran], secrets: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(command, what) for every secret (value, what) that a run printed."""
    return [(run.action, what) for run in runs for value, what in secrets
            if len(value) >= MIN_SECRET and value in run.output]


def failure_reported(output: str, item: Item) -> bool:
    """Whether a line of the output names the item (its username or path) and says it failed."""
    entry = item.keyring_entry
    tokens = {entry[1], f"{entry[0]}/{entry[1]}"} if entry else {item.name}
    return any(any(t in line for t in tokens) and _FAILURE.search(line) for line in output.splitlines())


@dataclass(frozen=True)
class Listed:
    """What a dry run said it would remove: keyring usernames and ~/ paths (folders end with /)."""

    keyring: frozenset[str]
    paths: frozenset[str]

    def covers(self, item: Item) -> bool:
        entry = item.keyring_entry
        if entry is not None:
            return entry[1] in self.keyring or f"{entry[0]}/{entry[1]}" in self.keyring
        return item.name in self.paths or any(p.endswith("/") and item.name.startswith(p) for p in self.paths)


def listed_in(output: str, pattern: str, home: str) -> Listed:
    """The dry run's list: every line matching cli.dry_run_item, absolute paths under HOME made ~/..."""
    keyring, paths = set(), set()
    for match in re.finditer(pattern, output, re.MULTILINE):
        groups = match.groupdict()
        if groups.get("keyring"):
            keyring.add(groups["keyring"].strip())
        if groups.get("path"):
            path = groups["path"].strip()
            if path.startswith(home.rstrip("/") + "/"):
                path = "~/" + path[len(home.rstrip("/")) + 1:]
            paths.add(path)
    return Listed(frozenset(keyring), frozenset(paths))


def dry_run_mismatch(settings: CliSettings, listed: Listed, before: Snapshot,
                     after: Snapshot) -> tuple[list[str], list[str]]:
    """(removed but not listed, listed but not removed): the real logout went from before to after."""
    removed = [before[n] for n in diff(before, after).removed]
    removed_credentials = [i for i in removed if i.kind != "dir" and
                           is_credential(i, settings.credential_paths, settings.keyring_services)]
    unlisted = sorted(i.name for i in removed_credentials if not listed.covers(i))
    kept = []
    for name in sorted(listed.keyring):
        if any(belongs_to(i, name) or i.name.endswith(f"/{name}") for i in after.values() if i.kind == "keyring"):
            kept.append(f"keyring entry {name}")
    for path in sorted(listed.paths):
        if path.rstrip("/") in after:
            kept.append(path)
    return unlisted, kept
