"""The project pass: cross-file facts, then suppressions and fingerprints, into one Report.

From every file's facts it builds the project's index (:mod:`index`): which project functions
call a model, directly or through other project functions, and which module-level names hold a
client. Findings whose ``requires_llm`` names none of those are dropped: a ``while True`` loop
around ``helpers.fetch(page)`` is not an agent loop unless ``fetch`` reaches a model.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict

from factorlint.engine.project.index import ProjectIndex
from factorlint.engine.read.suppressions import without_codes
from factorlint.knowledge import Knowledge
from factorlint.model import REACHING, STOPS, TAINTED, Edit, FileResult, Finding, Fix, Report, Site

UNUSED_SUPPRESSION = "TFA0002"


def build_report(
    root: str, results: list[FileResult], knowledge: Knowledge, settings, index: ProjectIndex | None = None
) -> Report:
    """The run's report: each file's findings and sites settled across files. ``index`` is the
    project index of these results' facts when the run built it already."""
    if index is None:
        index = ProjectIndex(results, knowledge, settings)
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    diagnostics = []
    sites: list[Site] = []
    for result in sorted(results, key=lambda r: r.path):
        diagnostics.extend(result.diagnostics)
        for site in result.sites:
            if site.requires_cycle and not index.leads_back(site.requires_cycle):
                continue
            if site.kind == "llm_call" and site.requires_llm and index.dangling(site.requires_llm):
                # Named like a model call, and nothing in the project or the tables answers the
                # name: the audit says so rather than staying silent.
                sites.append(dataclasses.replace(site, detail={**site.detail, "direct": False,
                                                               "unresolved": site.requires_llm[0]}))
                continue
            if not site.requires_llm or any(index.reaches_llm(q) for q in site.requires_llm):
                if site.kind == "llm_call" and not site.detail.get("direct") and any(
                    index.is_model_call(q) for q in site.requires_llm
                ):
                    # The receiver is typed in another file (a factory, a class attribute).
                    site = dataclasses.replace(site, detail={**site.detail, "direct": True,
                                                             "receiver": "resolved across files"})
                gated = _gated(site, index)
                if gated is not None:
                    sites.append(gated)
        standing = [
            f for f in result.findings
            if (not f.requires_llm or any(index.reaches_llm(q) for q in f.requires_llm))
            and not any(index.person_decides(q) for q in f.unless_human)
            and (not f.requires_cycle or index.leads_back(f.requires_cycle))
            and not any(index.returns_no_free_text(q) for q in f.requires_text)
            and (not f.requires_scrape or any(index.scrapes(entry) for entry in f.requires_scrape))
        ]
        standing = [_name_reaching(f, index) for f in standing]
        standing = [f for f in (_name_tainted(f, index) for f in standing) if f is not None]
        visible, hidden = _apply_suppressions(result, standing)
        suppressed.extend(hidden)
        kept.extend(visible)
        if UNUSED_SUPPRESSION in _enabled(result.path, settings):
            kept.extend(_unused_suppressions(result, settings))
    sites = _one_per_loop(sites)
    kept = _one_per_cycle(kept)
    _fingerprint(kept)
    _fingerprint(suppressed)
    _in_cells(results, kept, suppressed, sites)
    kept.sort(key=lambda f: (f.path, f.cell or 0, f.line, f.column, f.code))
    return Report(
        root=root, files=results, findings=kept, diagnostics=diagnostics, suppressed=suppressed, sites=sites
    )


def _in_cells(results: list[FileResult], *groups: list) -> None:
    """Notebooks are analysed as one script of their code cells: their findings and sites are
    told by cell and line, last, once suppressions and fingerprints have read the script's lines."""
    from factorlint.engine.read.notebook import cell_line

    cells = {r.path: r.cells for r in results if r.cells}
    if not cells:
        return
    for group in groups:
        for item in group:
            markers = cells.get(item.path)
            if not markers:
                continue
            cell, line = cell_line(markers, item.line)
            end_cell, end_line = cell_line(markers, item.end_line)
            item.line, item.end_line = line, end_line if end_cell == cell else line
            if isinstance(item, Finding):
                item.cell = cell  # a fix's edits stay in script lines, where --fix applies them
            else:
                item.detail = {**item.detail, "cell": cell}


def _name_reaching(finding: Finding, index: ProjectIndex) -> Finding:
    if REACHING not in finding.message:
        return finding
    reaching = next((q for q in finding.requires_llm if index.reaches_llm(q)), "")
    name = reaching.replace("()", "").rsplit(".", 1)[-1] or "a model call"
    return dataclasses.replace(finding, message=finding.message.replace(REACHING, name))


def _name_tainted(finding: Finding, index: ProjectIndex) -> Finding | None:
    """A finding reached through a parameter stands when a caller hands it text the model chose."""
    if not finding.requires_tainted:
        return finding
    text = next((found for slot in finding.requires_tainted if (found := index.tainted_text(slot))), None)
    if text is None:
        return None
    if finding.message.startswith(TAINTED):
        text = text[:1].upper() + text[1:]
    return dataclasses.replace(finding, message=finding.message.replace(TAINTED, text), requires_tainted=())


def _one_per_cycle(items: list) -> list:
    """A recursion across functions may re-enter the function at several calls (gptme's server
    ``step`` starts the tools, or a continuation): one loop, listed and reported once, at its
    first call that the project pass confirmed."""
    seen: set[tuple] = set()
    kept = []
    for item in items:
        if item.requires_cycle:
            key = (item.path, getattr(item, "code", getattr(item, "kind", "")), item.requires_cycle[-1])
            if key in seen:
                continue
            seen.add(key)
        kept.append(item)
    return kept


def _one_per_loop(sites: list[Site]) -> list[Site]:
    """A loop listed both as an agent loop and as a possible chat REPL is the agent loop."""
    sites = _one_per_cycle(sites)
    agent_loops = {(s.path, s.line) for s in sites if s.kind == "loop" and not s.detail.get("fallback")}
    kept = []
    for site in sites:
        if site.kind == "loop" and site.detail.get("fallback"):
            if (site.path, site.line) in agent_loops:
                continue
            detail = {k: v for k, v in site.detail.items() if k not in ("needs_person", "fallback")}
            site = dataclasses.replace(site, detail=detail)
        kept.append(site)
    return kept


def _gated(site: Site, index: ProjectIndex) -> Site | None:
    """A loop whose body calls a project function that asks a person is bounded by that person;
    a loop listed only as a possible chat REPL (``needs_person``) is dropped when none does."""
    asker = next((q for q in site.unless_human if index.person_decides(q)), None)
    if asker is None:
        return None if site.detail.get("needs_person") else site
    name, stops, _ = asker.partition(STOPS)
    short = name.replace("()", "").rsplit(".", 1)[-1]
    detail = dict(site.detail)
    bound = (f"the loop stops when `{short}` says so, and it may ask a person at the console" if stops
             else f"each iteration waits for a person (`{short}` asks at the console)")
    detail.update(bounded=True, human_gated=True, bound=bound)
    return dataclasses.replace(site, detail=detail, unless_human=())


def _enabled(path: str, settings) -> set[str]:
    from factorlint.engine.read.file_roles import enabled_for

    return enabled_for(path, settings)


def _apply_suppressions(result: FileResult, findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    if not result.suppressions:
        return findings, []
    visible, hidden = [], []
    for finding in findings:
        match = next((s for s in result.suppressions if s.matches(finding.code, finding.line)), None)
        if match is None:
            visible.append(finding)
            continue
        for selector in match.codes:
            if finding.code.startswith(selector):
                match.used.add(selector)
        finding.suppressed = match.reason or "suppressed"
        hidden.append(finding)
    return visible, hidden


def _unused_suppressions(result: FileResult, settings) -> list[Finding]:
    enabled = _enabled(result.path, settings)
    findings = []
    for suppression in result.suppressions:
        unused = [
            code for code in suppression.codes
            if code not in suppression.used and any(c.startswith(code) for c in enabled)
        ]
        if not unused:
            continue
        remaining = without_codes(suppression.comment, unused)
        whole = remaining == ""
        message = (
            f"Unused suppression: {', '.join(unused)} "
            f"{'does' if len(unused) == 1 else 'do'} not match any finding here"
        )
        edit = _removal_edit(suppression, remaining)
        findings.append(
            Finding(
                code=UNUSED_SUPPRESSION, name="unused-suppression", factor=None, severity="advice",
                confidence="high", path=result.path, line=suppression.line, column=suppression.column,
                end_line=suppression.line, end_column=suppression.end_column, message=message,
                fix=Fix("safe", "Remove the unused suppression" if whole else f"Remove {', '.join(unused)} from the comment", (edit,)),
                snippet=suppression.comment,
            )
        )
    return findings


def _removal_edit(suppression, remaining: str) -> Edit:
    """Replace the comment by what is left of it; with nothing left, remove it cleanly: the
    whitespace before a trailing comment, or the whole line of a comment on a line of its own."""
    line = suppression.line
    if remaining:
        return Edit(line, suppression.column, line, suppression.end_column, remaining)
    if suppression.own_line and suppression.line_has_newline:
        return Edit(line, 1, line + 1, 1, "")
    start = 1 if suppression.own_line else suppression.space_before
    return Edit(line, start, line, suppression.end_column, "")


def _fingerprint(findings: list[Finding]) -> None:
    """Rule + path + normalised node text + occurrence: stable under edits elsewhere in the file."""
    seen: dict[tuple, int] = defaultdict(int)
    for finding in sorted(findings, key=lambda f: (f.path, f.cell or 0, f.line, f.column, f.code)):
        key = (finding.code, finding.path, finding.snippet)
        occurrence = seen[key]
        seen[key] += 1
        # surrogateescape: a path of non-UTF-8 bytes hashes as those bytes (UTF-8 paths are unchanged).
        digest = hashlib.sha256(
            f"{finding.code}|{finding.path}|{finding.snippet}|{occurrence}".encode("utf-8", "surrogateescape")
        )
        finding.fingerprint = digest.hexdigest()[:16]
