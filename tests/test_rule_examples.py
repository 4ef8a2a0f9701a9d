"""Every rule's own examples: invalid ones fire exactly where marked, the others stay silent."""

from __future__ import annotations

import ast

import pytest
from helpers import expected_details, expected_findings, run_example

from factorlint.checks.registry import all_rules
from factorlint.knowledge import default_knowledge


def _cases(kind: str):
    for rule in all_rules():
        for number, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id=f"{rule.meta.code}-{kind}-{number}")


@pytest.mark.parametrize(("rule", "example"), list(_cases("invalid")))
def test_invalid_examples_fire(rule, example, tmp_path):
    files, report = run_example(tmp_path, example, {rule.meta.code})
    assert not report.diagnostics, report.diagnostics
    found = {(f.path, f.line, f.code) for f in report.findings if f.code == rule.meta.code}
    expected = {e for e in expected_findings(files) if e[2] == rule.meta.code}
    assert expected, "an invalid example must mark at least one '# expect: CODE' line"
    assert found == expected
    # Each finding's exact range and message, as fixit's invalid cases state them.
    details = {e for e in expected_details(files) if e[5] == rule.meta.code}
    assert len(details) == len(expected), "write '# expect: CODE @COL-END | message' on every marked line"
    shown = {(f.path, f.line, f.column, f.end_line, f.end_column, f.code, f.message)
             for f in report.findings if f.code == rule.meta.code}
    assert shown == details
    # The rule's screen of test code (Rule.may_report) lets through every module it reports in.
    knowledge = default_knowledge()
    for path in {e[0] for e in expected}:
        assert rule.may_report(files[path], ast.parse(files[path]), knowledge), path


@pytest.mark.parametrize(("rule", "example"), list(_cases("invalid")))
def test_a_rule_alone_finds_what_it_finds_among_all_rules(rule, example, tmp_path):
    """No rule depends on another being enabled (an analysis one rule fills, a cache one warms)."""
    from factorlint.checks.registry import select_rules

    alone = run_example(tmp_path / "alone", example, {rule.meta.code})[1]
    together = run_example(tmp_path / "all", example, set(select_rules(None)) | {rule.meta.code})[1]

    def shown(report):
        return sorted((f.path, f.line, f.column, f.end_line, f.end_column, f.message)
                      for f in report.findings if f.code == rule.meta.code)

    assert shown(alone) == shown(together)


@pytest.mark.parametrize(("rule", "example"), list(_cases("valid")) + list(_cases("near_miss")))
def test_valid_and_near_miss_examples_are_silent(rule, example, tmp_path):
    _files, report = run_example(tmp_path, example, {rule.meta.code})
    assert not report.diagnostics, report.diagnostics
    found = [(f.path, f.line, f.message) for f in report.findings if f.code == rule.meta.code]
    assert found == []


def test_every_rule_has_examples_of_each_kind():
    for rule in all_rules():
        if rule.meta.code.startswith("TFA00"):
            continue
        assert rule.invalid, rule.meta.code
        assert rule.valid, rule.meta.code
        assert rule.near_miss, rule.meta.code


def test_every_rule_documents_the_template_sections():
    for rule in all_rules():
        doc = rule.documentation()
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
            assert heading in doc, (rule.meta.code, heading)


def test_every_factor_has_two_rules_on_by_default():
    from collections import Counter

    enabled = Counter(r.meta.factor for r in all_rules() if r.meta.default_enabled and r.meta.factor)
    assert all(enabled[factor] >= 2 for factor in range(1, 14)), enabled


def test_low_confidence_and_preview_rules_are_opt_in():
    from factorlint.checks.registry import select_rules

    default = select_rules(None)
    for rule in all_rules():
        opt_in = rule.meta.confidence == "low" or rule.meta.status == "preview"
        assert (rule.meta.code in default) != opt_in, rule.meta.code
    # TFA0702 holds loops to the guide's "done" intent, stricter than docs/violations.md.
    assert "TFA0702" not in default and "TFA0702" in select_rules(["TFA0702"])
    assert "TFA0303" in select_rules(["TFA0303"])
    assert "TFA0303" not in select_rules(["TFA03"])


def _fix_cases():
    for rule in all_rules():
        for number, (before, after, *config) in enumerate(rule.fixes):
            yield pytest.param(rule, before, after, config[0] if config else {}, id=f"{rule.meta.code}-fix-{number}")


def _fixed(tmp_path, example, code: str, config: dict) -> tuple[dict[str, str], list]:
    """Every file of the example after --fix --unsafe-fixes with the rule alone (a fix may write
    a second file: a prompts module), and the findings that remain."""
    from helpers import settings_for

    from factorlint.api import apply_fixes, lint_paths

    _files, report = run_example(tmp_path, example, {code}, **config)
    for _ in range(10):  # in passes, as --fix runs them
        report, outcomes = apply_fixes(report, unsafe=True, write=True)
        if not any(o.applied for o in outcomes) or not any(o.skipped for o in outcomes):
            break
        report = lint_paths([tmp_path], settings_for(tmp_path, {code}, **config))
    files = {
        p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(tmp_path.rglob("*")) if p.is_file()
    }
    return files, report.findings


@pytest.mark.parametrize(("rule", "before", "after", "config"), list(_fix_cases()))
def test_fixes_write_their_examples(rule, before, after, config, tmp_path):
    """The fix's specification: the rule's before/after pairs, run as the user would. ``after``
    is ``agent.py`` after the fix, or every file the fix writes (the others stay as they were)."""
    import textwrap

    code = rule.meta.code
    fixed, _ = _fixed(tmp_path / "first", before, code, config)
    given = before if isinstance(before, dict) else {"agent.py": before}
    expected = {path: textwrap.dedent(text).lstrip("\n") for path, text in given.items()}
    expected.update(
        {path: textwrap.dedent(text).lstrip("\n") for path, text in after.items()} if isinstance(after, dict)
        else {"agent.py": textwrap.dedent(after).lstrip("\n")}
    )
    assert fixed == expected
    for path, text in fixed.items():
        if path.endswith(".py"):
            compile(text, path, "exec")  # still Python
    again, remaining = _fixed(tmp_path / "second", fixed, code, config)
    assert again == fixed, "a fix is idempotent"
    assert not [f for f in remaining if f.code == code], "the fixed code holds no finding of the rule"


def test_rules_that_say_they_fix_have_fix_examples():
    for rule in all_rules():
        if rule.meta.fix != "none" and not rule.meta.code.startswith("TFA00"):
            assert rule.fixes, f"{rule.meta.code} says it fixes ({rule.meta.fix}) but has no before/after example"
