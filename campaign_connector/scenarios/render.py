"""The report of ``campaign-connector test``: plain text for people, JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from campaign_connector.scenarios.runner import FileResult, Report


def render_text(report: Report) -> str:
    """One ``PASS``/``FAIL``/``ERROR`` line per scenario (failures followed by their diff), then the summary
    ``N passed, N failed`` on its own line."""
    lines: list[str] = []
    for file in report.files:
        if file.problems:
            lines.append(f"ERROR {file.path}")
            lines.extend(f"      {problem}" for problem in file.problems)
            continue
        for result in file.results:
            verdict = "PASS " if result.passed else "FAIL "
            lines.append(f"{verdict} {file.path}: {result.scenario.name}")
            lines.extend(f"      {line}" for line in result.diff())
    lines.append("")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def _suite_name(path: str) -> str:
    return Path(path).with_suffix("").as_posix().replace("/", ".").lstrip(".")


def _suite(file: FileResult) -> ET.Element:
    suite = ET.Element("testsuite", name=_suite_name(file.path), file=file.path)
    if file.problems:
        case = ET.SubElement(suite, "testcase", classname=_suite_name(file.path), name=Path(file.path).name,
                             file=file.path)
        error = ET.SubElement(case, "error", message=f"{len(file.problems)} problem(s) in the scenario file",
                              type="ScenarioFileError")
        error.text = "\n".join(str(p) for p in file.problems)
        suite.set("tests", "1")
        suite.set("failures", "0")
        suite.set("errors", "1")
        return suite
    failures = errors = 0
    for result in file.results:
        case = ET.SubElement(suite, "testcase", classname=_suite_name(file.path), name=result.scenario.name,
                             file=file.path, line=str(result.scenario.line))
        if result.error is not None:
            errors += 1
            error = ET.SubElement(case, "error", message=result.error.splitlines()[0], type="ScenarioError")
            error.text = result.error
        elif not result.passed:
            failures += 1
            diff = result.diff()
            failure = ET.SubElement(case, "failure", message=diff[0] if diff else "failed", type="ScenarioFailure")
            failure.text = "\n".join(diff)
        if result.scenario.description:
            ET.SubElement(case, "system-out").text = result.scenario.description
    suite.set("tests", str(len(file.results)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    return suite


def render_junit(report: Report) -> str:
    """JUnit XML: one ``testsuite`` per scenario file, one ``testcase`` per scenario; a failure carries the diff,
    a file that cannot be read or run is an ``error``."""
    root = ET.Element("testsuites", name="campaign-connector test")
    suites = [_suite(file) for file in report.files]
    root.extend(suites)
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
