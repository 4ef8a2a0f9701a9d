from __future__ import annotations

import fnmatch

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, Rule, RuleMeta
from factorlint.engine.agents.loop_body import paths_in, related
from factorlint.engine.agents.loops import LoopInfo
from factorlint.engine.semantic.names import dotted_name

# HTTP client calls whose result is a response object (requests, httpx, aiohttp, urllib).
_HTTP_CALLS = (
    "requests.get", "requests.post", "requests.put", "requests.patch", "requests.delete",
    "requests.head", "requests.options", "requests.request", "requests.api.*",
    "requests.Session().*", "requests.sessions.Session().*",
    "httpx.get", "httpx.post", "httpx.put", "httpx.patch", "httpx.delete", "httpx.head",
    "httpx.options", "httpx.request", "httpx.stream", "httpx.Client().*", "httpx.AsyncClient().*",
    "aiohttp.ClientSession().*", "aiohttp.request", "urllib.request.urlopen", "urllib3.request",
    "urllib3.PoolManager().*",
)
_HTTP_MEMBERS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request",
                           "stream", "send", "urlopen"})
_BODY_ATTRIBUTES = frozenset({"text", "content", "body"})
_BODY_METHODS = frozenset({"json", "text", "read"})
_GROWERS = frozenset({"append", "extend", "insert", "add_message", "add_event", "append_event"})


# How much of a raw text the fix lets into the history (about a thousand tokens).
CLIP_CHARS = 4000


class RawToolOutputIntoContext(Rule):
    """## What it does
    Inside an agent loop, finds raw HTTP responses added to the history the model reads: the
    body of a `requests` / `httpx` / `aiohttp` / `urllib` response (`r.text`, `r.content`,
    `r.json()`, `str(r)`, `json.dumps(r.json())`), appended whole, without slicing it or passing
    it through a function that picks, projects, truncates or summarises it.

    ## Why is this bad?
    Factor 3 (own your context window): tool output is the largest and least dense part of most
    contexts. A whole API payload (HTML, nested JSON with ids and timestamps) spends the budget on
    fields the model never needs, pushes the instructions out of focus, and can carry text an
    attacker controls. Project it to the few fields the next step needs.

    ## Example
    ```python
    data = requests.get(url, timeout=10).json()
    messages.append({"role": "tool", "tool_call_id": c.id, "content": json.dumps(data)})
    ```

    ## Use instead
    ```python
    tags = requests.get(url, timeout=10).json()
    summary = [{"name": t["name"], "sha": t["commit"]["sha"][:7]} for t in tags[:20]]
    messages.append({"role": "tool", "tool_call_id": c.id, "content": json.dumps(summary)})
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), for what is known to be text (a response's `.text`,
    `json.dumps(...)`, `str(...)`): it is clipped to its first 4,000 characters where it enters
    the history, so a huge page cannot flood the context. The model then reads less: picking
    the fields it needs (or summarising) is the better fix, and is left to you.

    ## Options
    None. Low confidence: opt in with `--select TFA0303`.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-03-own-your-context-window.md
    """

    meta = RuleMeta(
        code="TFA0303",
        name="raw-tool-output-into-context",
        factor=3,
        severity="advice",
        confidence="low",
        summary="A raw HTTP response body is fed back to the model as is",
        fix_advice=(
            "Project the response to the fields the next step needs (and cap their size) before "
            "adding it to the history."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
import json
import requests
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages, tools=tools)
        messages.append(resp.choices[0].message)
        for c in resp.choices[0].message.tool_calls or []:
            page = requests.get(json.loads(c.function.arguments)["url"], timeout=10)
            messages.append({"role": "tool", "tool_call_id": c.id, "content": f"Page:\\n{page.text}"})
""",
            """
import json
import requests
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages, tools=tools)
        messages.append(resp.choices[0].message)
        for c in resp.choices[0].message.tool_calls or []:
            page = requests.get(json.loads(c.function.arguments)["url"], timeout=10)
            messages.append({"role": "tool", "tool_call_id": c.id, "content": f"Page:\\n{page.text[:4000]}"})
""",
        ),
    ]

    invalid = [
        """
import json
import requests
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages, tools=tools)
        messages.append(resp.choices[0].message)
        for c in resp.choices[0].message.tool_calls or []:
            data = requests.get(json.loads(c.function.arguments)["url"], timeout=10).json()
            messages.append({"role": "tool", "tool_call_id": c.id, "content": json.dumps(data)})  # expect: TFA0303 @79-95 | `json.dumps(data)` (a whole HTTP response) is added to `messages` whole: the model reads every field of the response, relevant or not
""",
        """
import httpx
import anthropic

client = anthropic.Anthropic()

def browse(history, url):
    with httpx.Client() as http:
        for _ in range(20):
            msg = client.messages.create(model="m", max_tokens=512, messages=history)
            history.append({"role": "assistant", "content": msg.content})
            page = http.get(url)
            history.append({"role": "user", "content": f"Page:\\n{page.text}"})  # expect: TFA0303 @66-75 | `page.text` (a raw HTTP response body) is added to `history` whole: the model reads every field of the response, relevant or not
""",
    ]
    valid = [
        """
import json
import requests
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages, tools=tools)
        messages.append(resp.choices[0].message)
        for c in resp.choices[0].message.tool_calls or []:
            tags = requests.get("https://api.github.com/repos/o/r/tags", timeout=10).json()
            summary = [{"name": t["name"]} for t in tags[:20]]
            messages.append({"role": "tool", "tool_call_id": c.id, "content": json.dumps(summary)})
""",
        # Truncated before it goes in.
        """
import requests
from openai import OpenAI

client = OpenAI()

def run(messages):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages)
        messages.append(resp.choices[0].message)
        page = requests.get("https://example.com", timeout=10)
        messages.append({"role": "user", "content": page.text[:2000]})
""",
        # Passed through a summariser.
        """
import requests
from openai import OpenAI

client = OpenAI()

def run(messages):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages)
        messages.append(resp.choices[0].message)
        page = requests.get("https://example.com", timeout=10)
        messages.append({"role": "user", "content": summarize_page(page.text)})
""",
    ]
    near_miss = [
        # Not an agent loop: a batch of fetches, nothing fed back to a model.
        """
import requests

def crawl(urls, pages):
    for url in urls:
        pages.append(requests.get(url, timeout=10).text)
""",
        # The raw body goes to a log, not to the history.
        """
import logging
import requests
from openai import OpenAI

client = OpenAI()

def run(messages, log: list):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages)
        messages.append(resp.choices[0].message)
        log.append(requests.get("https://example.com", timeout=10).text)
""",
        # The model's own reply is not tool output.
        """
from openai import OpenAI

client = OpenAI()

def run(messages):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": resp.choices[0].message.content})
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._loop_depth: list[int] = [0]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._loop_depth.append(len(self.ctx.loop_stack))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._loop_depth.pop()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _GROWERS:
            self._check(dotted_name(func.value), [a.value for a in node.args])

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.operator, cst.AddAssign):
            self._check(dotted_name(node.target), [node.value])

    def _check(self, path: str | None, values: list[cst.BaseExpression]) -> None:
        if path is None:
            return
        info = self._agent_loop()
        if info is None or not self._feeds_back(info, path):
            return
        for value in values:
            for node, label in self._raw_parts(value, 0):
                self.report(
                    node,
                    f"{label} is added to `{path}` whole: the model reads every field of the "
                    "response, relevant or not",
                    requires_llm=info.requires,
                    fix=self._clipped(node),
                )

    def _clipped(self, node: cst.CSTNode) -> CodeFix | None:
        """Text known to be text (a response's ``.text``, ``json.dumps(...)``, ``str(...)``)
        clipped to ``CLIP_CHARS`` where it enters the history: unsafe, the model reads less."""
        text = (isinstance(node, cst.Attribute) and node.attr.value == "text") or (
            isinstance(node, cst.Call) and self.ctx.qualname(node.func) in ("json.dumps", "builtins.str")
        )
        if not text:
            return None
        return CodeFix((RawEdit(node, f"{self.ctx.code_for(node)}[:{CLIP_CHARS}]"),), unsafe=True)

    def _agent_loop(self) -> LoopInfo | None:
        for loop in reversed(self.ctx.loop_stack[self._loop_depth[-1]:]):
            info = self.ctx.loops.analyse(loop)
            if info.llm_calls:
                return info
        return None

    @staticmethod
    def _feeds_back(info: LoopInfo, path: str) -> bool:
        read: set[str] = set()
        for llm in info.llm_calls:
            for arg in llm.node.args:
                read |= paths_in(arg.value)
        return any(related(r, path) for r in read if r != "self")

    # -- what is raw ---------------------------------------------------------------------------

    def _raw_parts(self, expr: cst.BaseExpression, hops: int) -> list[tuple[cst.CSTNode, str]]:
        if hops > 2:
            return []
        if isinstance(expr, cst.Await):
            expr = expr.expression
        found: list[tuple[cst.CSTNode, str]] = []
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    found += self._raw_parts(element.value, hops)
        elif isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            for element in expr.elements:
                found += self._raw_parts(element.value, hops)
        elif isinstance(expr, cst.FormattedString):
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    found += self._raw_parts(part.expression, hops)
        elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Modulo)):
            found += self._raw_parts(expr.left, hops) + self._raw_parts(expr.right, hops)
        elif isinstance(expr, cst.Attribute):
            if expr.attr.value in _BODY_ATTRIBUTES and self._is_response(expr.value, hops):
                found.append((expr, f"`{self._code(expr)}` (a raw HTTP response body)"))
        elif isinstance(expr, cst.Call):
            found += self._raw_call(expr, hops)
        elif isinstance(expr, cst.Name):
            for value in self._values(expr.value):
                if self._raw_parts(value, hops + 1):
                    found.append((expr, f"`{expr.value}` (a raw HTTP response body)"))
                    break
        return found

    def _raw_call(self, call: cst.Call, hops: int) -> list[tuple[cst.CSTNode, str]]:
        func = call.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in _BODY_METHODS and self._is_response(func.value, hops):
                return [(call, f"`{self._code(call)}` (a raw HTTP response body)")]
            if func.attr.value == "format":
                parts: list[tuple[cst.CSTNode, str]] = []
                for arg in call.args:
                    parts += self._raw_parts(arg.value, hops)
                return parts
        qualname = self.ctx.qualname(func) or ""
        if qualname in ("builtins.str", "builtins.repr", "json.dumps") and call.args:
            inner = call.args[0].value
            if self._is_response(inner, hops) or self._raw_parts(inner, hops):
                return [(call, f"`{self._code(call)}` (a whole HTTP response)")]
        return []  # any other function may pick, project or truncate

    def _is_response(self, expr: cst.BaseExpression, hops: int) -> bool:
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.Call):
            qualname = self.ctx.qualname(expr.func) or ""
            return any(fnmatch.fnmatchcase(qualname, p) for p in _HTTP_CALLS) and (
                qualname.rsplit(".", 1)[-1] in _HTTP_MEMBERS
            )
        if isinstance(expr, cst.Name) and hops <= 2:
            return any(self._is_response(v, hops + 1) for v in self._values(expr.value))
        return False

    def _values(self, name: str) -> list[cst.BaseExpression]:
        bindings = self.ctx.current_flow().bindings.get(name, [])
        if any(kind != "value" for kind, _ in bindings):
            return []
        return [value for _, value in bindings if value is not None]

    def _code(self, node: cst.CSTNode) -> str:
        return " ".join(self.ctx.code_for(node).split())[:60]
