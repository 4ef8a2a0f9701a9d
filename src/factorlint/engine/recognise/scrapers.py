"""Calls that pull structure out of a string: regular expressions, ``split`` on a separator and
the parsers (``json.loads``, ``ast.literal_eval``, Pydantic's ``model_validate_json``).

Factor 1's scraped-structure rule reads them on a model's reply; the project facts read them on a
function's own parameters (a helper such as metagpt's ``CodeParser.parse_code(text)`` or gptme's
``_parse_ranges(response)`` scrapes whatever text its callers hand it).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.recognise.responses import tracker

# Parsers and pattern matchers that pull structure out of a string: (argument index, keyword).
SCRAPERS = {
    "re.search": (1, "string"),
    "re.match": (1, "string"),
    "re.fullmatch": (1, "string"),
    "re.findall": (1, "string"),
    "re.finditer": (1, "string"),
    "re.split": (1, "string"),
    "json.loads": (0, "s"),
    "ast.literal_eval": (0, "node_or_string"),
    "yaml.safe_load": (0, "stream"),
    "yaml.load": (0, "stream"),
    "json_repair.loads": (0, "json_str"),
    "json_repair.repair_json": (0, "json_str"),
}
# The third-party ``regex`` module is a drop-in for ``re`` (metagpt imports it as ``re``).
SCRAPERS.update({"regex." + name.split(".", 1)[1]: place for name, place in SCRAPERS.items() if name.startswith("re.")})
_COMPILED = frozenset({"search", "match", "fullmatch", "findall", "finditer", "split"})
_SPLITTERS = frozenset({"split", "rsplit", "partition", "rpartition"})
# Pydantic's JSON parsers: ``Model.model_validate_json(text)`` (v2), ``Model.parse_raw(text)`` (v1).
_MODEL_PARSERS = frozenset({"model_validate_json", "parse_raw"})
_PARSERS = frozenset({"json.loads", "ast.literal_eval", "yaml.safe_load", "yaml.load", "json_repair.loads",
                      "json_repair.repair_json"})
# Regular expressions that answer yes or no: inside an ``if`` test they decide, they do not scrape.
_TEST_REGEX = frozenset({"re.search", "re.match", "re.fullmatch", "regex.search", "regex.match", "regex.fullmatch",
                         "search", "match", "fullmatch"})


@dataclass(frozen=True)
class Scrape:
    label: str  # how the reader wrote it: ``json.loads(...)``, ``.split(...)``
    operand: cst.BaseExpression  # the text it scrapes
    is_test: bool  # a yes/no regular expression (a branch when it sits in an ``if`` test)
    is_parser: bool = False  # builds data from the text (``json.loads``), not pieces of it


def scrape(ctx, call: cst.Call) -> Scrape | None:
    """What ``call`` scrapes, when it pulls structure out of a string."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in _SPLITTERS:
        if not call.args:
            return None  # ``text.split()``: words, not fields
        return Scrape(f".{func.attr.value}(...)", func.value, False)
    if isinstance(func, cst.Attribute) and func.attr.value in _MODEL_PARSERS and call.args:
        return Scrape(f"{ctx.code_for(func)}(...)", call.args[0].value, False, True)
    qualname = ctx.qualname(func) or ""
    if qualname in SCRAPERS:
        index, keyword = SCRAPERS[qualname]
        arg = keyword_arg(call, keyword) or positional_arg(call, index)
        if arg is None:
            return None
        return Scrape(f"{qualname}(...)", arg.value, qualname in _TEST_REGEX, qualname in _PARSERS)
    if qualname.startswith(("re.compile().", "regex.compile().")) and qualname.rsplit(".", 1)[-1] in _COMPILED:
        method = qualname.rsplit(".", 1)[-1]
        arg = keyword_arg(call, "string") or positional_arg(call, 0)
        if arg is None:
            return None
        return Scrape(f"{ctx.code_for(func)}(...)", arg.value, method in _TEST_REGEX)
    return None


def handed_reply(ctx, call: cst.Call):
    """(the reply's origin, ``callee|place``) when a call of a project function is handed a
    model's free text (metagpt's ``extract_state_value_from_output(rsp)``); the project pass
    decides whether that function scrapes it (``FunctionFacts.scrapes``)."""
    callee = ctx.qualname(call.func)
    if callee is None or not ctx.is_project_candidate(callee):
        return None
    llm = ctx.recognise.llm_call(call)
    if llm is not None and llm.certain:
        return None
    for position, arg in enumerate(call.args):
        if arg.star:
            break
        origin = _text_origin(ctx, arg.value, call)
        if origin is not None:
            place = arg.keyword.value if arg.keyword is not None else str(position)
            return origin, f"{callee}|{place}"
    return None


def _text_origin(ctx, value: cst.BaseExpression, call: cst.Call):
    """The reply ``value`` holds as free text. ``rsp = helper(rsp)`` rebinds the name it reads:
    its other bindings say what it held when the call was made."""
    track = tracker(ctx)
    candidates = [value]
    if isinstance(value, cst.Name) and ctx.function_stack:
        bindings = [bound for kind, bound in ctx.current_flow().bindings.get(value.value, []) if kind == "value"]
        if any(bound is not None and _is_call(bound, call) for bound in bindings):
            # ``rsp = helper(rsp)``: the name as a whole also holds the helper's own result.
            candidates = [bound for bound in bindings if bound is not None and not _is_call(bound, call)]
    for candidate in candidates:
        origin = track.origin(candidate)
        if origin is not None and origin.is_text and (origin.mode == "prose" or origin.wrapper):
            return origin
    return None


def _is_call(value: cst.BaseExpression, call: cst.Call) -> bool:
    return value is call or (isinstance(value, cst.Await) and value.expression is call)
