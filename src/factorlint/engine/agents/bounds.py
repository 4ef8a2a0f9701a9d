"""Framework step bounds: is the bound passed, disabled, left to a default, and which default.

Defaults come from the knowledge tables per version range; the version is the one the scanned
project pins (lock files, requirements), when it pins one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import libcst as cst

from factorlint.engine.recognise.recognisers import has_star_kwargs, is_none, keyword_arg, positional_arg
from factorlint.engine.semantic.names import literal_string
from factorlint.knowledge import BoundSpec, VersionedDefault
from factorlint.versions import version_of

State = Literal["explicit", "disabled", "too_large", "absent_unbounded", "absent_default", "unknown"]


@dataclass(frozen=True)
class BoundCheck:
    state: State
    spec: BoundSpec
    node: cst.CSTNode  # where to report: the argument, or the call when absent
    default: VersionedDefault | None = None
    version: str | None = None
    certain: bool = True  # False when the version is unknown and the default changed across versions
    value: int | None = None

    def describe_default(self) -> str:
        """``max_iterations=15`` or ``recursion_limit: 25 up to 1.0.5, 10000 from 1.0.6``."""
        spec = self.spec
        if self.certain or len(spec.defaults) < 2:
            value = "no limit" if self.default is None or self.default.value is None else self.default.value
            return f"{spec.parameter}={value}"
        parts = []
        for entry in spec.defaults:
            value = "no limit" if entry.value is None else entry.value
            parts.append(f"{value} for {entry.versions or 'every version'}")
        return f"{spec.parameter}: " + "; ".join(parts)


def _int_value(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        try:
            return int(node.evaluated_value)
        except ValueError:
            return None
    return None


def _is_infinite(ctx, node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call) and ctx.qualname(node.func) == "builtins.float" and node.args:
        text = literal_string(node.args[0].value)
        return text is not None and text.strip().lower() in ("inf", "infinity", "+inf")
    return ctx.qualname(node) in ("sys.maxsize", "math.inf")


def _config_value(call: cst.Call, spec: BoundSpec) -> tuple[cst.BaseExpression | None, bool]:
    """The ``config={"recursion_limit": N}`` value, and whether the config is opaque."""
    arg = keyword_arg(call, "config")
    if arg is None and spec.config_position is not None:
        arg = positional_arg(call, spec.config_position)
    if arg is None:
        return None, False
    if not isinstance(arg.value, cst.Dict):
        return None, True
    for element in arg.value.elements:
        if not isinstance(element, cst.DictElement):
            return None, True  # ``{**base, ...}``
        if literal_string(element.key) == (spec.config_key or spec.parameter):
            return element.value, False
    return None, False


def check_bound(ctx, call: cst.Call, spec: BoundSpec, framework_distribution: str | None) -> BoundCheck:
    if spec.where == "config":
        value, opaque = _config_value(call, spec)
        if opaque:
            return BoundCheck("unknown", spec, call)
    else:
        if any(keyword_arg(call, alt) is not None for alt in spec.alternatives):
            return BoundCheck("explicit", spec, call)
        arg = keyword_arg(call, spec.parameter)
        value = arg.value if arg is not None else None
        if arg is None and has_star_kwargs(call):
            return BoundCheck("unknown", spec, call)
    if value is not None:
        if is_none(value):
            if spec.none_disables:
                return BoundCheck("disabled", spec, value)
            return BoundCheck("absent_default", spec, value, *_default(ctx, spec, framework_distribution))
        if _is_infinite(ctx, value):
            return BoundCheck("too_large", spec, value)
        number = _int_value(value)
        limit = spec.effectively_unbounded_above
        if number is not None and limit is not None and number > limit:
            return BoundCheck("too_large", spec, value, value=number)
        return BoundCheck("explicit", spec, value, value=number)
    default, version, certain = _default(ctx, spec, framework_distribution)
    if default is None:
        return BoundCheck("absent_default", spec, call, None, version, certain)
    limit = spec.effectively_unbounded_above
    if default.value is None or (limit is not None and default.value > limit):
        return BoundCheck("absent_unbounded", spec, call, default, version, certain)
    return BoundCheck("absent_default", spec, call, default, version, certain)


def _default(ctx, spec: BoundSpec, framework_distribution: str | None):
    distribution = spec.distribution or framework_distribution
    version = version_of(ctx.settings, distribution) if distribution else None
    default, certain = spec.default_for(version)
    return default, version, certain
