"""What a run writes for people and for CI: summary.json (to its schema), junit.xml, allure-results, index.html.

The full conformant run is the self-test's (tests/e2e/test_selftest.py), which calls ``check_every_report``:
one run of every profile serves it, the secrets scan and the self-test.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree

from harness import plan

from .conftest import load_summary


def check_every_report(report_dir: Path, proc: subprocess.CompletedProcess[str]) -> None:
    """A conformant run of every profile with the HTML report (the self-test's full run) wrote them all."""
    cases = {case.id for case in plan.load().cases}

    summary = load_summary(report_dir)  # validated against harness/schemas/summary.schema.json
    assert {s["id"] for s in summary["scenarios"]} == cases
    assert summary["totals"]["passed"] == len(cases)

    # our own file, written by pytest: parsing a trusted local file is fine with the stdlib
    junit = ElementTree.parse(report_dir / "junit.xml").getroot()
    testcases = junit.findall(".//testcase")
    assert len(testcases) == len(cases)
    assert not junit.findall(".//failure") and not junit.findall(".//error")

    results = list((report_dir / "allure-results").glob("*-result.json"))
    assert len(results) == len(cases)

    # every logout in the browser leaves a screenshot, and the single-file page carries them
    shots = list((report_dir / "allure-results").glob("*-attachment.png"))
    assert shots and all(p.read_bytes().startswith(b"\x89PNG") for p in shots)

    pages = list(report_dir.rglob("*.html"))
    assert pages == [report_dir / "index.html"], pages
    page = pages[0].read_text("utf-8")
    assert "googletagmanager" not in page
    # works offline: nothing fetched from the network, scripts and stylesheets inlined
    assert not re.search(r"""<script\b[^>]*\bsrc\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script src=\"http" not in page
    assert re.search(r'd\("data/attachments/[0-9a-f]+\.png"', page), "no screenshot in the HTML report"
    assert f"HTML report: {report_dir / 'index.html'}" in proc.stdout
