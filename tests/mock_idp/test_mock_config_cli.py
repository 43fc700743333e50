"""The mock's config (MockConfig JSON) and its command line, `python -m mock_idp`."""

import dataclasses
import json
import subprocess
import sys

import pytest
from idp_client import CONFIG, ROOT

from mock_idp.config import CasdoorReceiver, CasdoorSettings, Client, MockConfig


def test_config_survives_a_json_round_trip() -> None:
    with_faults = dataclasses.replace(CONFIG, faults=frozenset({"state-dropped"}))
    assert MockConfig.from_json(with_faults.to_json()) == with_faults
    casdoor = CasdoorSettings("acme", [CasdoorReceiver("http://app.test/hook", "rp-basic")])
    with_casdoor = dataclasses.replace(CONFIG, casdoor=casdoor)
    assert MockConfig.from_json(with_casdoor.to_json()) == with_casdoor


def casdoor_config(casdoor: object) -> str:
    client = {"client_id": "rp", "client_secret": "s", "redirect_uris": []}
    return json.dumps({"clients": [client], "users": [], "casdoor": casdoor})


@pytest.mark.parametrize(
    ("casdoor", "message"),
    [
        ([], "casdoor must be an object"),
        ({"org": "x"}, "casdoor: unknown field 'org'"),
        ({"organization": ""}, "casdoor.organization is empty"),
        ({"organization": 7}, "casdoor.organization must be a string"),
        ({"notification_receivers": {}}, "casdoor.notification_receivers must be a list"),
        (
            {"notification_receivers": [{"url": "http://a.test/"}]},
            "casdoor.notification_receivers[0]: missing field 'client_id'",
        ),
        (
            {"notification_receivers": [{"url": "/hook", "client_id": "rp"}]},
            "url must be an absolute http or https URL",
        ),
        (
            {"notification_receivers": [{"url": "http://a.test/", "client_id": "other"}]},
            "names unknown client 'other'",
        ),
    ],
)
def test_casdoor_config_mistakes_say_what(casdoor: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        MockConfig.from_json(casdoor_config(casdoor))
    assert message in str(raised.value)


def test_casdoor_config_defaults() -> None:
    assert MockConfig.from_json(casdoor_config({})).casdoor == CasdoorSettings("built-in", [])


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


def test_clients_check_their_alg_auth_method_and_back_channel_uri() -> None:
    with pytest.raises(ValueError, match="id_token_signed_response_alg"):
        Client("c", "s", [], id_token_signed_response_alg="HS256")
    with pytest.raises(ValueError, match="token_endpoint_auth_method"):
        Client("c", "s", [], token_endpoint_auth_method="none")
    for uri in ("rp.test/logout", "ftp://rp.test/logout", "https://rp.test/x#now", "http://[rp/"):
        with pytest.raises(ValueError, match="backchannel_logout_uri"):
            Client("c", "s", [], backchannel_logout_uri=uri)
    assert Client("c", "s", [], backchannel_logout_uri="https://rp.test/logout?tenant=1")


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
