"""The single-file HTML report, built by the npm Allure 3 generator and made to work offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import harness
from harness.errors import ConfigError, HarnessError

GENERATOR = Path(harness.__file__).parents[1] / "node_modules" / ".bin" / "allure"
TIMEOUT_S = 120
STDERR_LINES = 8

_SCRIPT_OPEN = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
_SCRIPT_CLOSE = "</script>"
_TRACKING = re.compile(r"googletagmanager|\bgtag\s*\(", re.IGNORECASE)
#: what must not remain: a script or stylesheet fetched from the network, or an analytics id
_OUTSIDE = re.compile(
    r"(?i:<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//|googletagmanager)"
    r"|\b(?:G|GTM)-[A-Z0-9]{6,}\b"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def build_html(allure_results: Path, out_dir: Path, *, title: str) -> Path:
    """Generate ``out_dir/index.html`` from an allure-results directory; returns its path."""
    if not GENERATOR.exists():
        raise ConfigError("the Allure report generator is not installed: run make setup")
    if not allure_results.is_dir():
        raise ConfigError("no such directory", str(allure_results))
    with tempfile.TemporaryDirectory(prefix="logout-report-") as tmp:
        work = Path(tmp)
        output = work / "report"
        config = work / "allurerc.mjs"
        # JSON is a valid JavaScript literal: the title needs no escaping of its own
        options = {"singleFile": True, "reportName": title}
        settings = {
            "name": title,
            "output": str(output),
            "plugins": {"awesome": {"options": options}},
        }
        config.write_text(f"export default {json.dumps(settings)};\n", encoding="utf-8")
        _generate(config, allure_results.resolve(), work)
        page = output / "index.html"
        if not page.is_file():
            raise HarnessError("the Allure report generator wrote no index.html")
        html = offline(page.read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "index.html"
    fd, partial = tempfile.mkstemp(prefix=".index.html.", dir=out_dir)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target


def _generate(config: Path, results: Path, cwd: Path) -> None:
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    command = [str(GENERATOR), "generate", "--config", str(config), str(results)]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"the Allure report generator did not finish in {TIMEOUT_S} s") from None
    except OSError as exc:
        raise ConfigError(f"cannot run the Allure report generator: {exc.strerror}") from None
    if done.returncode != 0:
        # the generator prints some errors on stdout; the last lines say what went wrong
        text = _ANSI.sub("", done.stderr.strip() or done.stdout.strip())
        tail = "\n".join(text.splitlines()[-STDERR_LINES:])
        raise HarnessError(f"the Allure report generator failed (exit {done.returncode}):\n{tail}")


def offline(html: str) -> str:
    """Drop the Google Tag Manager scripts the generator always embeds, then prove nothing outside
    is loaded; the rest of the page is left as it is."""
    kept: list[str] = []
    pos = 0
    while match := _SCRIPT_OPEN.search(html, pos):
        close = html.find(_SCRIPT_CLOSE, match.end())
        end = len(html) if close < 0 else close + len(_SCRIPT_CLOSE)
        if _TRACKING.search(match.group(0)) or _TRACKING.search(html, match.end(), end):
            kept.append(html[pos : match.start()])
        else:
            kept.append(html[pos:end])
        pos = end
    kept.append(html[pos:])
    page = "".join(kept)
    if found := _OUTSIDE.search(page):
        raise HarnessError(f"the report would still load from outside ({found.group(0)[:80]!r})")
    return page
