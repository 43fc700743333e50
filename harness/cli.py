"""The ``logout-conformance`` command: a thin front end that runs the pytest plugin and reads its summary."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import expected, plan, requirements, scenario
from harness import target as target_file
from harness.errors import ConfigError, HarnessError
from harness.results import EXIT_USAGE
from harness.yamlsrc import load as load_yaml

_REPORT_DIR = Path("reports/latest")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a reader gone away (`| head`) shows here, where it is handled
        return code
    except HarnessError as exc:
        print(f"logout-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # nobody reads the rest: stop quietly, and keep Python from failing again when it flushes at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logout-conformance", description="Logout conformance harness.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run scenarios against a target and write reports")
    run.add_argument("--target", type=Path, help="target file (default: the bundled mock IdP)")
    run.add_argument("--profile", action="append", default=[], help="run only this profile (repeatable)")
    run.add_argument("-k", dest="keyword", help="only scenarios matching this pytest -k expression")
    run.add_argument("--report-dir", type=Path, default=_REPORT_DIR, help="where reports go (default: reports/latest)")
    run.add_argument("--fail-on", choices=("must", "should"), default="must",
                     help="fail on MUST/VENDOR violations only (default), or on SHOULD too")
    run.add_argument("--expected-failures", type=Path, help="known deviations: reported, not failing, until expiry")
    run.add_argument("--mock-fault", action="append", default=[], metavar="NAME", help="switch on a mock fault")
    run.add_argument("--workers", default="auto", help="parallel workers (pytest-xdist -n; 0 = none)")
    run.add_argument("--no-html", action="store_true", help="skip the single-file HTML report")
    run.set_defaults(func=_run)

    mock = sub.add_parser("mock-idp", help="serve the bundled mock IdP in the foreground")
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--port", type=int, default=9400)
    mock.add_argument("--fault", action="append", default=[], metavar="NAME")
    mock.add_argument("--target", type=Path, default=plan.DEFAULT_TARGET,
                      help="target file whose clients and users the mock serves")
    mock.set_defaults(func=_mock_idp)

    lst = sub.add_parser("list", help="list scenarios with profile, requirements and applicability")
    lst.add_argument("--target", type=Path)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_list)

    faults = sub.add_parser("faults", help="the fault catalog of the mock IdP and sample apps")
    faults.add_argument("--json", action="store_true")
    faults.set_defaults(func=_faults)

    validate = sub.add_parser("validate", help="check scenario, target and expected-failures files")
    validate.add_argument("files", nargs="+", type=Path)
    validate.set_defaults(func=_validate)

    metadata = sub.add_parser("metadata", help="print the SAML metadata of the harness's SP actors")
    metadata.add_argument("--target", type=Path, default=plan.DEFAULT_TARGET,
                          help="target file whose saml.sps the IdP's admin registers")
    metadata.add_argument("--sp", help="only this SP actor (default: all, in one EntitiesDescriptor)")
    metadata.set_defaults(func=_metadata)

    report = sub.add_parser("report", help="build the single-file HTML report from allure-results")
    report.add_argument("dir", type=Path, help="a report folder (holding allure-results/) or allure-results itself")
    report.set_defaults(func=_report)
    return parser


def _run(args: argparse.Namespace) -> int:
    import pytest

    from harness.faults import CATALOG

    target_path = args.target or plan.DEFAULT_TARGET
    target = target_file.load(target_path)  # fail early, with file and line
    target.require_secrets()
    plan.load(profiles=args.profile or None)
    unknown = [f for f in args.mock_fault if f not in CATALOG]
    if unknown:
        raise ConfigError(f"unknown fault(s) {', '.join(unknown)}; `logout-conformance faults` lists them")
    if args.mock_fault and not target.is_mock:
        raise ConfigError("--mock-fault switches faults of the bundled mock; this target is not the mock", str(target_path))
    if args.expected_failures:
        expected.load(args.expected_failures)
    report_dir: Path = args.report_dir
    results_dir = report_dir / "allure-results"
    shutil.rmtree(results_dir, ignore_errors=True)
    for stale in ("summary.json", "junit.xml", "index.html"):
        (report_dir / stale).unlink(missing_ok=True)
    report_dir.mkdir(parents=True, exist_ok=True)
    pytest_args = [
        "-q", "--tb=no", "-rN", "-p", "no:cacheprovider", "--no-header",
        # the CLI imported the protocol stack before pytest started: nothing is left to rewrite
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
        "--rootdir", str(Path.cwd()), "-c", "/dev/null",
        "--logout-target", str(target_path), "--logout-report-dir", str(report_dir),
        "--logout-fail-on", args.fail_on, "--alluredir", str(results_dir), "--junitxml", str(report_dir / "junit.xml"),
    ]
    pytest_args += [a for p in args.profile for a in ("--logout-profile", p)]
    pytest_args += [a for f in args.mock_fault for a in ("--logout-mock-fault", f)]
    if args.expected_failures:
        pytest_args += ["--logout-expected-failures", str(args.expected_failures)]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers not in ("0", ""):
        pytest_args += ["-n", args.workers]
    status = pytest.main(pytest_args)
    summary_path = report_dir / "summary.json"
    if not summary_path.exists():
        print(f"logout-conformance: no results (pytest exit status {int(status)})", file=sys.stderr)
        return EXIT_USAGE
    summary = json.loads(summary_path.read_text("utf-8"))
    if not args.no_html:
        try:
            from harness.report import html
            page = html.build_html(results_dir, report_dir, title=f"Logout conformance: {target.name}")
            print(f"HTML report: {page}")
        except HarnessError as exc:
            print(f"logout-conformance: HTML report not built: {exc}", file=sys.stderr)
    print(f"summary: {summary_path}")
    return int(summary["exit_code"])


def _mock_idp(args: argparse.Namespace) -> int:
    from harness import mockctl
    from mock_idp import server
    from mock_idp.config import MockConfig

    target = target_file.load(args.target)
    unset = [s.env for s in target.secrets() if not os.environ.get(s.env)]
    mockctl.ensure_secrets(target)
    if unset:
        # made up for this process only: set them to choose values the RP under test can use
        print(f"mock-idp: generated values for {', '.join(unset)} (set them to choose your own)", file=sys.stderr)
    config = MockConfig.from_json(mockctl.mock_config_json(target, [*(target.mock_faults or ()), *args.fault]))
    server.serve(config, args.host, args.port, ready=lambda url: print(f"{mockctl.READY_PREFIX}{url}", flush=True))
    return 0


def _list(args: argparse.Namespace) -> int:
    loaded = plan.load()
    target = target_file.load(args.target) if args.target else None
    rows: list[dict[str, Any]] = []
    for s in loaded.scenarios:
        applies = None if target is None else any(role in target.roles for role in s.applies_to)
        rows.append({"id": s.id, "title": s.title, "profile": s.profile, "requirements": list(s.requirements),
                     "applies_to": list(s.applies_to), "variants": [c.id for c in s.cases()], "applies": applies})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = "" if row["applies"] is None else ("applies  " if row["applies"] else "n/a      ")
        print(f"{mark}{row['profile']:<24} {row['id']:<44} {', '.join(row['requirements'])}")
    return 0


def _faults(args: argparse.Namespace) -> int:
    from harness.faults import CATALOG

    rows = [{"name": f.name, "requirement": f.requirement, "description": f.description} for f in CATALOG.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']:<32} {row['requirement']:<26} {row['description']}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    known = {r.id for r in requirements.all_requirements()}
    bad = 0
    for path in args.files:
        try:
            doc = load_yaml(path)
            if isinstance(doc.data, dict) and "roles" in doc.data:
                target_file.load(path)
            elif isinstance(doc.data, dict) and "expected_failures" in doc.data:
                expected.load(path)
            else:
                loaded = scenario.load(path)
                unknown = [r for r in loaded.requirements if r not in known]
                if unknown:
                    raise ConfigError(f"requirement(s) not in the catalog: {', '.join(unknown)}", str(path))
            print(f"ok    {path}")
        except HarnessError as exc:
            bad += 1
            print(f"error {exc}")
    return EXIT_USAGE if bad else 0


def _metadata(args: argparse.Namespace) -> int:
    from harness.saml.metadata import sp_metadata
    from harness.saml.sp import SpActor

    target = target_file.load(args.target)
    specs = [s for s in (target.saml.sps if target.saml else ()) if args.sp in (None, s.name)]
    if not specs:
        raise ConfigError("no SP actor " + (f"named {args.sp!r} " if args.sp else "") + "in saml.sps", str(args.target))
    documents = []
    for spec in specs:
        actor = SpActor.at(target.callback_base, spec.name, "", spec.cert_pem())
        documents.append(sp_metadata(actor.entity_id, actor.acs_url, actor.slo_url, actor.cert_pem))
    if len(documents) == 1:
        print(documents[0])
        return 0
    # several SPs: one EntitiesDescriptor, as IdPs import it in one go
    bodies = "\n".join(d.split("?>", 1)[-1].strip() for d in documents)
    print('<?xml version="1.0" encoding="UTF-8"?>\n'
          f'<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">\n{bodies}\n</md:EntitiesDescriptor>')
    return 0


def _report(args: argparse.Namespace) -> int:
    from harness.report import html

    results = args.dir / "allure-results" if (args.dir / "allure-results").is_dir() else args.dir
    out = args.dir if results != args.dir else args.dir.parent
    if not results.is_dir():
        raise ConfigError(f"{results} is not a folder of allure results")
    page = html.build_html(results, out, title="Logout conformance")
    print(page)
    return 0
