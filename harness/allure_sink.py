"""Allure side of the pytest front end: labels, links and severity per scenario, steps and attachments."""

from __future__ import annotations

import contextlib
import html

import allure

from harness import requirements
from harness.scenario import Case

_SEVERITY = {"MUST": allure.severity_level.CRITICAL, "VENDOR": allure.severity_level.CRITICAL,
             "SHOULD": allure.severity_level.NORMAL, "MAY": allure.severity_level.MINOR}
_TYPES = {"text/plain": allure.attachment_type.TEXT, "application/json": allure.attachment_type.JSON,
          "text/html": allure.attachment_type.HTML, "image/png": allure.attachment_type.PNG,
          "application/xml": allure.attachment_type.XML, "application/zip": allure.attachment_type.ZIP}


class AllureSink:
    """Engine sink that turns steps into Allure steps and evidence into attachments."""

    def step(self, title: str) -> contextlib.AbstractContextManager[None]:
        return allure.step(title)  # type: ignore[return-value]

    def attach(self, name: str, body: str, mime: str) -> None:
        allure.attach(body, name=name, attachment_type=_TYPES.get(mime, allure.attachment_type.TEXT))

    def attach_bytes(self, name: str, body: bytes, mime: str) -> None:
        allure.attach(body, name=name, attachment_type=_TYPES.get(mime, allure.attachment_type.TEXT))


def _description(case: Case, reqs: list[requirements.Requirement]) -> str:
    """What the scenario proves, each requirement with its level, the spec's words and a link."""
    scenario = case.scenario
    items = "".join(
        f'<li><a href="{html.escape(r.link)}">{html.escape(r.id)}</a> ({r.level}): {html.escape(r.title)}'
        f"<br><q>{html.escape(r.text.strip())}</q></li>"
        for r in reqs)
    return (f"<p>{html.escape(scenario.description or scenario.title)}</p>"
            f"<p>Scenario <code>{html.escape(case.id)}</code> from <code>{html.escape(scenario.file)}</code></p>"
            f"<p>Requirements:</p><ul>{items}</ul>")


def label(case: Case) -> None:
    """Epic = protocol, feature = spec, story = requirement, severity = strongest level, links to the spec."""
    scenario = case.scenario
    reqs = [requirements.get(r) for r in scenario.requirements]
    allure.dynamic.title(f"{scenario.title}" + (f" [{', '.join(map(str, case.params.values()))}]" if case.params else ""))
    allure.dynamic.description_html(_description(case, reqs))
    for epic in sorted({r.epic for r in reqs}):
        allure.dynamic.epic(epic)
    for spec in sorted({r.spec for r in reqs}):
        allure.dynamic.feature(spec)
    for req in reqs:
        allure.dynamic.story(f"{req.id}: {req.title}")
        allure.dynamic.link(req.link, name=req.id)
    allure.dynamic.tag(scenario.profile)
    allure.dynamic.parent_suite(scenario.profile)
    allure.dynamic.suite(scenario.id.split("/")[0])
    order = ["MUST", "VENDOR", "SHOULD", "MAY"]
    strongest = min((r.level for r in reqs), key=lambda lv: order.index(lv) if lv in order else len(order))
    allure.dynamic.severity(_SEVERITY.get(strongest, allure.severity_level.NORMAL))
    for name, value in case.params.items():
        allure.dynamic.parameter(name, value)
