from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import dotted_name, literal_string

SECRET_NAME = re.compile(r"(?i)api_?key|secret|token(?!s|i[sz])|password|passwd|credential")
# Names that mention a secret but hold something else: a limit, a count, a location, a label.
NOT_SECRET = re.compile(
    r"(?i)budget|limit|count|max|min|num|usage|used|size|len|per_|_per|encod|url|uri|endpoint"
    r"|path|file|name|header|type|expir|ttl|timeout|prefix|env_?var|_id$|^id_|is_|has_|enabled"
)
_ENVIRON_GETTERS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault"})
_SETTINGS_OWNERS = frozenset({"settings", "config", "cfg", "conf", "secrets", "env", "environ"})
_MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_TEXT_BUILDERS = frozenset({"builtins.str", "builtins.repr", "textwrap.dedent", "inspect.cleandoc"})


def is_secret_key(key: str) -> bool:
    return bool(SECRET_NAME.search(key)) and not NOT_SECRET.search(key)


class SecretsIntoContext(Rule):
    """## What it does
    Finds credentials rendered into text the model reads: a prompt (`system=`, `instructions=`,
    `messages=` / `input=` of a model call, an agent's prompt, `SystemMessage(...)`,
    `PromptTemplate.from_template(...)`) or the `content` of a `{"role": ..., "content": ...}`
    message, when that text contains `os.environ["..."]`, `os.getenv("...")` or
    `settings.<NAME>` / `config.<NAME>` whose key names a secret (API key, secret, token,
    password, credential), or a name assigned from one of those. Keys that only mention a secret
    (`max_tokens`, `TOKEN_LIMIT`, `API_KEY_NAME`) are left alone.

    ## Why is this bad?
    Factor 3 (own your context window) is also about what must never be in it. Anything in the
    context can come back out: in a reply, a tool argument, a log, a trace sent to a vendor, or
    to whoever can steer the model with a prompt injection (OWASP LLM02, Sensitive Information
    Disclosure). The model never needs the key itself; the tool that calls the API does.

    ## Example
    ```python
    system = f"Use API key {os.environ['STRIPE_KEY']} when calling the payments API."
    ```

    ## Use instead
    ```python
    def charge(customer_id: str, amount: int) -> dict:  # the tool holds the key
        return stripe_client(api_key=os.environ["STRIPE_KEY"]).charges.create(...)
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-03-own-your-context-window.md
    - OWASP LLM02: Sensitive Information Disclosure
    """

    meta = RuleMeta(
        code="TFA0304",
        name="secrets-into-context",
        factor=3,
        severity="error",
        confidence="medium",
        summary="A credential is rendered into text the model reads",
        fix_advice=(
            "Keep credentials out of prompts and messages: the tool implementation reads the key "
            "and calls the API; the model only sees the tool's name and arguments."
        ),
    )

    invalid = [
        """
import os
import anthropic

client = anthropic.Anthropic()

def pay(messages):
    return client.messages.create(
        model="m", max_tokens=512, messages=messages,
        system=f"Use API key {os.environ['STRIPE_API_KEY']} when calling the payments API.",  # expect: TFA0304 @31-59 | `os.environ['STRIPE_API_KEY']` (environment variable STRIPE_API_KEY) is rendered into `system=`: the model, its logs and anyone who can steer it can read the credential
    )
""",
        """
import os
from openai import OpenAI

client = OpenAI()
token = os.getenv("GITHUB_TOKEN")

def review(diff):
    prompt = "Review this diff. To fetch files, use the token " + token + ".\\n" + diff
    messages = [{"role": "user", "content": prompt}]  # expect: TFA0304 @45-51 | `prompt` (holds holds environment variable GITHUB_TOKEN) is rendered into a "user" message: the model, its logs and anyone who can steer it can read the credential
    return client.chat.completions.create(model="gpt-4o", messages=messages)
""",
        """
from langchain_core.prompts import PromptTemplate
from app.config import settings

template = PromptTemplate.from_template(
    "Connect with password {pw}. Then answer: {question}".replace("{pw}", settings.DB_PASSWORD)  # expect: TFA0304 @75-95 | `settings.DB_PASSWORD` (setting DB_PASSWORD) is rendered into `from_template(...)`: the model, its logs and anyone who can steer it can read the credential
)
""",
    ]
    valid = [
        # The key configures the client; the prompt never sees it.
        """
import os
from openai import OpenAI

client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])

def ask(question):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": question}])
""",
        # The tool reads the key; the model sees only arguments.
        """
import os
import requests
from openai import OpenAI

client = OpenAI()

def fetch(url):
    return requests.get(url, headers={"Authorization": f"Bearer {os.environ['API_TOKEN']}"}, timeout=10).text

def ask(question):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": fetch(question)}])
""",
        """
from app.config import settings
from openai import OpenAI

client = OpenAI()

def ask(question):
    return client.chat.completions.create(
        model=settings.MODEL, messages=[{"role": "user", "content": question}], max_tokens=settings.MAX_TOKENS
    )
""",
    ]
    near_miss = [
        # Names that mention tokens but are budgets and counts.
        """
import os
from openai import OpenAI

client = OpenAI()

def ask(question):
    budget = os.getenv("TOKEN_LIMIT", "4000")
    return client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": f"Answer in at most {budget} tokens; max_tokens={os.environ['MAX_TOKENS']}."}],
    )
""",
        # The name of the variable that holds a key, not the key.
        """
from openai import OpenAI
from app.config import settings

client = OpenAI()
SYSTEM = f"If authentication fails, tell the user to set {settings.API_KEY_ENV_VAR}."

def ask(question):
    return client.chat.completions.create(model="m", messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}])
""",
        # Only the presence of a key is rendered.
        """
import os
from openai import OpenAI

client = OpenAI()

def ask(question):
    has_key = bool(os.getenv("SERPAPI_API_KEY"))
    return client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"web search available: {has_key}. {question}"}]
    )
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._reported: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        for value, where in self._sinks(node):
            self._scan(value, where)

    def visit_Dict(self, node: cst.Dict) -> None:
        role = content = None
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = literal_string(element.key)
                if key == "role":
                    role = literal_string(element.value)
                elif key == "content":
                    content = element.value
        if content is not None and role in _MESSAGE_ROLES:
            self._scan(content, f'a "{role}" message')

    def _sinks(self, call: cst.Call) -> list[tuple[cst.BaseExpression, str]]:
        sinks: list[tuple[cst.BaseExpression, str]] = []
        llm = self.ctx.recognise.llm_call(call)
        if llm is not None and llm.spec is not None:
            spec = llm.spec
            for keyword in (*spec.prompt_keywords, *spec.message_keywords):
                arg = keyword_arg(call, keyword)
                if arg is not None:
                    sinks.append((arg.value, f"`{keyword}=`"))
            if spec.prompt_positional is not None:
                arg = positional_arg(call, spec.prompt_positional)
                if arg is not None:
                    sinks.append((arg.value, "the prompt"))
            return sinks
        agent = self.ctx.recognise.agent_construct(call)
        if agent is not None and agent.spec.prompt is not None:
            prompt = agent.spec.prompt
            for keyword in (*prompt.keywords, *prompt.override_keywords):
                arg = keyword_arg(call, keyword)
                if arg is not None:
                    sinks.append((arg.value, f"`{keyword}=`"))
            return sinks
        qualname = self.ctx.qualname(call.func)
        builder = self.ctx.knowledge.prompt_builders.first(qualname) if qualname else None
        if builder is not None:
            name = qualname.rsplit(".", 1)[-1]
            for keyword in builder.keywords:
                arg = keyword_arg(call, keyword)
                if arg is not None:
                    sinks.append((arg.value, f"`{name}({keyword}=)`"))
            for index in (builder.positional, builder.message_tuples_positional):
                if index is not None:
                    arg = positional_arg(call, index)
                    if arg is not None:
                        sinks.append((arg.value, f"`{name}(...)`"))
        return sinks

    def _scan(self, value: cst.BaseExpression, where: str) -> None:
        for node, key, source in self._secrets(value, 0):
            if id(source) in self._reported:
                continue
            self._reported.add(id(source))
            self.report(
                node,
                f"`{' '.join(self.ctx.code_for(node).split())[:60]}` ({key}) is rendered into "
                f"{where}: the model, its logs and anyone who can steer it can read the credential",
            )

    # -- where secrets hide --------------------------------------------------------------------

    def _secrets(self, expr: cst.BaseExpression, hops: int) -> list[tuple[cst.CSTNode, str, cst.CSTNode]]:
        """(where to report, which secret, the expression that reads it)."""
        key = self._secret_source(expr)
        if key is not None:
            return [(expr, key, expr)]
        found: list[tuple[cst.CSTNode, str, cst.CSTNode]] = []
        for child in self._text_parts(expr):
            found += self._secrets(child, hops)
        if isinstance(expr, cst.Name) and hops < 3:
            for value in self._values(expr.value):
                inner = self._secrets(value, hops + 1)
                if inner:
                    _, key, source = inner[0]
                    found.append((expr, f"holds {key}", source))
                    break
        return found

    def _text_parts(self, expr: cst.BaseExpression) -> list[cst.BaseExpression]:
        """The parts of an expression that end up in the text (never a call's other arguments)."""
        if isinstance(expr, cst.FormattedString):
            return [p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression)]
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Modulo)):
            return [expr.left, expr.right]
        if isinstance(expr, cst.ConcatenatedString):
            return [expr.left, expr.right]
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return [e.value for e in expr.elements]
        if isinstance(expr, cst.Dict):
            return [e.value for e in expr.elements if isinstance(e, cst.DictElement)]
        if isinstance(expr, (cst.IfExp,)):
            return [expr.body, expr.orelse]
        if isinstance(expr, cst.Call):
            func = expr.func
            if isinstance(func, cst.Attribute) and func.attr.value in ("format", "format_map", "replace", "join"):
                return [func.value, *(a.value for a in expr.args)]
            if (self.ctx.qualname(func) or "") in _TEXT_BUILDERS:
                return [a.value for a in expr.args]
        return []

    def _secret_source(self, expr: cst.BaseExpression) -> str | None:
        """``os.environ["KEY"]`` / ``os.getenv("KEY")`` / ``settings.KEY`` naming a secret."""
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
            index = expr.slice[0].slice
            if isinstance(index, cst.Index) and self.ctx.qualname(expr.value) == "os.environ":
                key = literal_string(index.value)
                if key and is_secret_key(key):
                    return f"environment variable {key}"
        if isinstance(expr, cst.Call) and expr.args:
            if (self.ctx.qualname(expr.func) or "") in _ENVIRON_GETTERS:
                key = literal_string(expr.args[0].value)
                if key and is_secret_key(key):
                    return f"environment variable {key}"
        if isinstance(expr, cst.Attribute):
            owner = dotted_name(expr.value)
            if owner is not None and owner.rsplit(".", 1)[-1].lower() in _SETTINGS_OWNERS:
                if is_secret_key(expr.attr.value):
                    return f"setting {expr.attr.value}"
        return None

    def _values(self, name: str) -> list[cst.BaseExpression]:
        for flow in (self.ctx.current_flow(), self.ctx.flow(self.ctx.module)):
            bindings = flow.bindings.get(name)
            if bindings:
                return [v for kind, v in bindings if kind == "value" and v is not None]
        return []
