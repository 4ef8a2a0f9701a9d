"""Values taken from a model response: paths into it (``choices[].message.content``) and their origin."""


from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from factorlint.engine.recognise.recognisers import LLMCall
from factorlint.engine.recognise.response_modes import Mode

Path = tuple[str, ...]

INDEX = "[]"

# Methods that take text and give text back: the value keeps its origin.
TEXT_PRESERVING = frozenset(
    {"strip", "lstrip", "rstrip", "lower", "upper", "casefold", "title", "capitalize",
     "removeprefix", "removesuffix", "replace", "expandtabs"}
)
# Methods only strings have: calling one shows the value is text.
STR_METHODS = TEXT_PRESERVING | frozenset(
    {"startswith", "endswith", "splitlines", "split", "rsplit", "partition", "rpartition", "find",
     "rfind", "index", "rindex", "count", "isdigit", "isalpha", "isalnum", "isnumeric", "isdecimal",
     "isspace", "isupper", "islower", "istitle", "encode", "format", "zfill", "center", "ljust",
     "rjust", "swapcase"}
)
_SHARED_WITH_LISTS = frozenset({"index", "count"})
# Functions whose argument is text (standard library): passing a value to one shows it is text.
TEXT_FUNCTIONS = frozenset(
    {"re.search", "re.match", "re.fullmatch", "re.findall", "re.finditer", "re.split", "re.sub",
     "re.subn", "json.loads", "ast.literal_eval"}
)
# Fields that name the next step of a typed reply (factor 1's ``intent: Literal[...]``).
DISCRIMINATORS = frozenset(
    {"intent", "action", "action_type", "type", "kind", "tool", "tool_name", "function_name",
     "next_step", "next_action", "step_type", "route", "decision"}
)
_INTENT_PREFIX = frozenset({"choices", INDEX, "message", "parsed", "output_parsed", "next_step", "step", "action"})
# What a wrapper defined elsewhere may hand back: its result itself (text only with evidence), or
# a message whose text and tool calls sit at the usual places.
_GENERIC_TEXT = ("content", "text", "output_text", "choices[].message.content", "message.content",
                 "content[].text")
_GENERIC_TOOLS = ("tool_calls[].function.name", "tool_calls[].name", "function_call.name",
                  "choices[].message.tool_calls[].function.name", "message.tool_calls[].function.name")


def parse_path(text: str) -> Path:
    """``choices[].message.content`` -> ("choices", "[]", "message", "content"); "" -> ()."""
    parts: list[str] = []
    for piece in text.split(".") if text else ():
        while piece.endswith(INDEX):
            piece = piece[: -len(INDEX)]
            if piece:
                parts.append(piece)
            piece = ""
            parts.append(INDEX)
        if piece:
            parts.append(piece)
    return tuple(parts)


def render_path(path: Path) -> str:
    return "".join(p if p == INDEX else f".{p}" for p in path)


@dataclass(frozen=True)
class Origin:
    source: cst.Call  # the call this function makes (the model call, or a wrapper around one)
    llm: LLMCall  # the model call behind it (inside the wrapper when the wrapper is in this file)
    path: Path
    mode: Mode
    text_paths: frozenset
    tool_paths: frozenset
    wrapper: bool = False  # a project function defined elsewhere: its result's shape is unknown

    def extend(self, segment: str) -> Origin:
        return replace(self, path=(*self.path, segment))

    @property
    def requires(self) -> tuple[str, ...]:
        return self.llm.requires

    @property
    def is_text(self) -> bool:
        return self.path in self.text_paths

    @property
    def is_tool_name(self) -> bool:
        return self.path in self.tool_paths

    @property
    def is_intent(self) -> bool:
        """The discriminator of a typed reply (``step.intent``), not of stream events or items:
        an index is only allowed after ``choices``."""
        path = self.path
        return (
            (self.mode == "structured" or self.wrapper)
            and bool(path)
            and path[-1] in DISCRIMINATORS
            and all(p in _INTENT_PREFIX for p in path[:-1])
            and all(path[i - 1] == "choices" for i, p in enumerate(path) if p == INDEX)
        )


_SELF = object()  # ``text = text.strip()``: a binding that refers back to the name itself


def base_name(expr: cst.BaseExpression) -> str | None:
    """The name under text-preserving wrappers: ``text`` in ``text.strip().lower()[:50]``."""
    while True:
        if isinstance(expr, cst.Name):
            return expr.value
        if isinstance(expr, cst.Await):
            expr = expr.expression
        elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and (
            expr.func.attr.value in TEXT_PRESERVING
        ):
            expr = expr.func.value
        elif isinstance(expr, cst.Subscript) and _is_slice(expr):
            expr = expr.value
        else:
            return None


def _is_value_method(call: cst.Call) -> bool:
    """``text.strip()``, ``resp.get("content")``: a method of a value, not a project function."""
    return isinstance(call.func, cst.Attribute) and (
        call.func.attr.value in STR_METHODS or call.func.attr.value in ("get", "json", "model_dump")
    )


def _is_slice(node: cst.Subscript) -> bool:
    return len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice)
