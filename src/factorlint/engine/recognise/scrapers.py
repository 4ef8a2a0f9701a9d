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
_COMPILED = frozenset({"search", "match", "fullmatch", "findall", "finditer", "split"})
_SPLITTERS = frozenset({"split", "rsplit", "partition", "rpartition"})
# Pydantic's JSON parsers: ``Model.model_validate_json(text)`` (v2), ``Model.parse_raw(text)`` (v1).
_MODEL_PARSERS = frozenset({"model_validate_json", "parse_raw"})
_PARSERS = frozenset({"json.loads", "ast.literal_eval", "yaml.safe_load", "yaml.load", "json_repair.loads",
                      "json_repair.repair_json"})
# Regular expressions that answer yes or no: inside an ``if`` test they decide, they do not scrape.
_TEST_REGEX = frozenset({"re.search", "re.match", "re.fullmatch", "search", "match", "fullmatch"})


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
    if qualname.startswith("re.compile().") and qualname.rsplit(".", 1)[-1] in _COMPILED:
        method = qualname.rsplit(".", 1)[-1]
        arg = keyword_arg(call, "string") or positional_arg(call, 0)
        if arg is None:
            return None
        return Scrape(f"{ctx.code_for(func)}(...)", arg.value, method in _TEST_REGEX)
    return None
