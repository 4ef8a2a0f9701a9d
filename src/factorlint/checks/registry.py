"""Every rule, found by importing the modules under ``factorlint.checks``, and rule selection.

Selection needs only each rule's code and whether it is on by default, and it runs on every
invocation, before anything is analysed. Those two facts are also kept in :mod:`.index`, so
resolving the settings (and a run whose files all come from the cache) imports neither the rule
modules nor LibCST. ``python -m factorlint.checks.registry`` rewrites the index; a test fails
when it disagrees with the rule modules.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factorlint.checks.base import Rule


@functools.lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    import factorlint.checks as package
    from factorlint.checks.base import Rule

    found: dict[str, type[Rule]] = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.ispkg or info.name.rsplit(".", 1)[-1] in ("base", "registry", "index"):
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


def rule_index() -> tuple[tuple[str, bool], ...]:
    """(code, enabled by default) of every rule, without importing the rules."""
    from factorlint.checks.index import RULES

    return RULES


def index_source() -> str:
    """The text of :mod:`.index` for the rules as they are."""
    rows = "".join(f"    ({rule.meta.code!r}, {rule.meta.default_enabled!r}),\n" for rule in all_rules())
    return (
        '"""(code, enabled by default) of every rule. Written by `python -m '
        'factorlint.checks.registry`; do not edit."""\n\nRULES = (\n' + rows + ")\n"
    )


def is_known_selector(selector: str) -> bool:
    return any(selector_matches(selector, code) for code, _ in rule_index())


Layer = tuple  # (select or None, ignore, extend_select): one configuration file or the command line


def _specificity(selector: str) -> int:
    selector = selector.strip().upper()
    return 0 if selector == "ALL" else len(selector)


def _turns_on(selector: str, code: str, default_enabled: bool) -> bool:
    """A selector enables a matching rule; an opt-in rule only when named by its full code."""
    return selector_matches(selector, code) and (default_enabled or selector.strip().upper() == code)


def resolve_selection(layers: Iterable[Layer]) -> set[str]:
    """The enabled codes after applying each layer in turn, as ruff does.

    The first layer starts from the default set: every stable rule of high or medium confidence.
    Within a layer the more specific selector wins (``--ignore TFA08 --select TFA0802`` keeps
    TFA0802); at equal specificity ``ignore`` wins. A layer that has ``select`` replaces what the
    earlier layers chose (a command-line ``--select`` overrides the configuration's ``ignore``);
    a layer without it only adds (``extend-select``) and removes (``ignore``). A family selector
    (``TFA03``, ``ALL``) never turns on an opt-in (low-confidence or preview) rule.
    """
    rules = rule_index()
    chosen = {code for code, default_enabled in rules if default_enabled}
    for select, ignore, extend_select in layers:
        selects = [*(select or []), *extend_select]
        ignores = list(ignore)
        updates: dict[str, bool] = {}
        for level in sorted({_specificity(s) for s in [*selects, *ignores]}):
            for selector in selects:
                if _specificity(selector) == level:
                    updates.update((code, True) for code, on in rules if _turns_on(selector, code, on))
            for selector in ignores:
                if _specificity(selector) == level:
                    updates.update((code, False) for code, _ in rules if selector_matches(selector, code))
        if select is not None:
            chosen = {code for code, on in updates.items() if on}
        else:
            chosen |= {code for code, on in updates.items() if on}
            chosen -= {code for code, on in updates.items() if not on}
    return chosen


def select_rules(
    select: Iterable[str] | None,
    ignore: Iterable[str] = (),
    extend_select: Iterable[str] = (),
) -> set[str]:
    """The codes enabled by one layer of ruff-style selection (see :func:`resolve_selection`)."""
    return resolve_selection([(select, ignore, extend_select)])


if __name__ == "__main__":
    target = Path(__file__).with_name("index.py")
    target.write_text(index_source(), encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
