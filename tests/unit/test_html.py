"""The single-file HTML report: one index.html from the npm Allure generator, opening offline."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest

from harness.errors import ConfigError, HarnessError
from harness.report import html

needs_generator = pytest.mark.skipif(
    not html.GENERATOR.exists(), reason="node_modules/.bin/allure is missing"
)


def allure_result(number: int, name: str, status: str, message: str = "") -> dict:
    return {
        "uuid": f"0000000{number}-0000-4000-8000-000000000000",
        "historyId": f"history-{number}",
        "name": name,
        "fullName": f"scenarios.rp::{name}",
        "status": status,
        "statusDetails": {"message": message} if message else {},
        "stage": "finished",
        "start": 1_700_000_000_000,
        "stop": 1_700_000_000_250,
        "labels": [{"name": "suite", "value": "oidc-rp-initiated-op"}],
        "steps": [],
        "attachments": [],
        "parameters": [],
    }


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    results = tmp_path / "allure-results"
    results.mkdir()
    for item in (
        allure_result(1, "rp-initiated/redirect", "passed"),
        allure_result(
            2, "rp-initiated/state-echo", "failed", "OIDCRIL-3-state: expected state; seen none"
        ),
        allure_result(3, "rp-initiated/front-channel", "skipped", "not applicable"),
    ):
        (results / f"{item['uuid']}-result.json").write_text(json.dumps(item), "utf-8")
    return results


@needs_generator
def test_one_offline_index_html(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    started = time.perf_counter()
    page = html.build_html(results_dir, out, title="Logout conformance: mock")
    elapsed = time.perf_counter() - started
    assert page == out / "index.html"
    assert [p.name for p in out.iterdir()] == ["index.html"]
    text = page.read_text("utf-8")
    assert "<title> Logout conformance: mock </title>" in text
    assert "googletagmanager" not in text.lower() and "gtag(" not in text
    assert not re.search(r"<script[^>]*\bsrc=[\"']?https?:", text, re.IGNORECASE)
    # the report itself is still there, with the three results
    statistic = re.search(r'd\("widgets/statistic.json","([^"]+)"\)', text)
    assert statistic and json.loads(base64.b64decode(statistic.group(1))) == {
        "total": 3,
        "passed": 1,
        "failed": 1,
        "skipped": 1,
    }
    assert elapsed < 30, f"the generator took {elapsed:.1f} s"


def test_offline_strips_only_the_tracking_scripts() -> None:
    page = (
        "<html><head><script>window.a = 1</script></head><body>\n"
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234"></script>\n'
        "<script>\n window.dataLayer = window.dataLayer || [];\n"
        " function gtag(){dataLayer.push(arguments);}\n"
        " gtag('config', 'G-ABCDEF1234');\n</script>\n"
        '<script src="data:text/javascript;base64,AAAA"></script></body></html>'
    )
    assert html.offline(page) == (
        "<html><head><script>window.a = 1</script></head><body>\n\n\n"
        '<script src="data:text/javascript;base64,AAAA"></script></body></html>'
    )


def test_a_missing_results_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        html.build_html(tmp_path / "nothing", tmp_path / "out", title="t")


def test_generator_errors_end_with_its_last_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "allure"
    fake.write_text(
        "#!/bin/sh\necho starting\n"
        "printf '\\033[31mNo test results found\\033[39m\\n' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(html, "GENERATOR", fake)
    with pytest.raises(HarnessError, match=r"failed \(exit 1\):\nNo test results found$"):
        html.build_html(tmp_path, tmp_path / "out", title="t")
    assert not (tmp_path / "out").exists()


def test_a_missing_generator_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(html, "GENERATOR", tmp_path / "missing")
    with pytest.raises(ConfigError, match="not installed: run make setup"):
        html.build_html(tmp_path, tmp_path / "out", title="t")
