"""The mock's config (MockConfig JSON) and its command line, `python -m mock_idp`."""

import dataclasses
import subprocess
import sys

import pytest
from idp_client import CONFIG, ROOT

from mock_idp.config import Client, MockConfig


def test_config_survives_a_json_round_trip() -> None:
    with_faults = dataclasses.replace(CONFIG, faults=frozenset({"state-dropped"}))
    assert MockConfig.from_json(with_faults.to_json()) == with_faults


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        (
            '{"clients": [], "users": [], "faults": ["nope"]}',
            "unknown fault 'nope'; known faults: ",
        ),
        ('{"clients": [{"client_id": "a"}], "users": []}', "clients[0]: missing field"),
        ('{"clients": [], "users": [], "extra": 1}', "unknown field 'extra'"),
        (
            '{"clients": [], "users": [{"username": "u", "password": "p", "sub": 1}]}',
            "users[0].sub has the wrong type",
        ),
    ],
)
def test_config_mistakes_are_value_errors_that_say_what(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        MockConfig.from_json(text)
    assert message in str(raised.value)


def test_unknown_fault_names_the_known_ones() -> None:
    with pytest.raises(ValueError) as raised:
        dataclasses.replace(CONFIG, faults=frozenset({"bogus"}))
    assert "'bogus'" in str(raised.value) and "state-dropped" in str(raised.value)


def test_clients_check_their_alg_and_auth_method() -> None:
    with pytest.raises(ValueError, match="id_token_signed_response_alg"):
        Client("c", "s", [], id_token_signed_response_alg="HS256")
    with pytest.raises(ValueError, match="token_endpoint_auth_method"):
        Client("c", "s", [], token_endpoint_auth_method="none")


@pytest.mark.parametrize(
    ("stdin", "args", "message"),
    [
        ("{not json", [], "mock-idp: mock config is not valid JSON"),
        (CONFIG.to_json(), ["--fault", "bogus"], "mock-idp: unknown fault 'bogus'"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(stdin: str, args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mock_idp", "--port", "0", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=20,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
