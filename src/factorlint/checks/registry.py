"""Every rule, found by importing the modules under ``factorlint.checks``, and rule selection."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Iterable

from factorlint.checks.base import Rule


@functools.lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    import factorlint.checks as package

    found: dict[str, type[Rule]] = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.ispkg or info.name.rsplit(".", 1)[-1] in ("base", "registry"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value is not Rule
                and value.__module__ == module.__name__
                and hasattr(value, "meta")
            ):
                if value.meta.code in found:
                    raise RuntimeError(f"duplicate rule code {value.meta.code}")
                found[value.meta.code] = value
    return tuple(sorted(found.values(), key=lambda r: r.meta.code))


def rules_by_code() -> dict[str, type[Rule]]:
    return {rule.meta.code: rule for rule in all_rules()}


def rule_for(code_or_name: str) -> type[Rule] | None:
    key = code_or_name.strip()
    for rule in all_rules():
        if rule.meta.code == key.upper() or rule.meta.name == key.lower():
            return rule
    return None


def selector_matches(selector: str, code: str) -> bool:
    """``ALL``, a family (``TFA``/``TFS``), a factor (``TFA08``) or a code prefix (``TFA080``)."""
    selector = selector.strip().upper()
    return selector == "ALL" or code.startswith(selector)


def is_known_selector(selector: str) -> bool:
    return any(selector_matches(selector, rule.meta.code) for rule in all_rules())


def select_rules(
    select: Iterable[str] | None,
    ignore: Iterable[str] = (),
    extend_select: Iterable[str] = (),
) -> set[str]:
    """The codes enabled by ruff-style selection.

    Without ``select`` the default set is every stable rule of high or medium confidence. An
    explicit selector that names a low-confidence rule by its full code turns it on; a family
    selector (``TFA03``, ``ALL``) does not, so opt-in rules stay opt-in.
    """
    chosen: set[str] = set()
    rules = all_rules()
    selectors = list(select) if select is not None else None
    for rule in rules:
        code = rule.meta.code
        if selectors is None:
            if rule.meta.default_enabled:
                chosen.add(code)
            continue
        for selector in selectors:
            if selector_matches(selector, code) and (
                rule.meta.default_enabled or selector.strip().upper() == code
            ):
                chosen.add(code)
    for selector in extend_select:
        for rule in rules:
            if selector_matches(selector, rule.meta.code) and (
                rule.meta.default_enabled or selector.strip().upper() == rule.meta.code
            ):
                chosen.add(rule.meta.code)
    for selector in ignore:
        chosen = {code for code in chosen if not selector_matches(selector, code)}
    return chosen
