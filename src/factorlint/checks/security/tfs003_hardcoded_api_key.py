from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, Rule, RuleMeta
from factorlint.engine.read.secret_formats import has_key_format
from factorlint.engine.semantic.names import dotted_name, literal_string


class HardcodedApiKey(Rule):
    """## What it does
    Finds credentials written into the source: any string literal in the format of a known
    provider's key (OpenAI `sk-` / `sk-proj-`, Anthropic `sk-ant-`, Google `AIza...`, Hugging
    Face `hf_`, Groq `gsk_`, Slack `xox?-`, AWS `AKIA...`, GitHub `ghp_`, LangSmith `lsv2_`), and
    any random-looking literal used as a credential: passed as `api_key=` (or another credential
    keyword), put under an `"api_key"` key of a config dict, assigned to a variable or an
    environment variable named like `*_API_KEY` / `*_TOKEN` / `*_SECRET_KEY`.

    The rule runs on every module, agent code or not. Placeholders (`"EMPTY"`, `"sk-test"`,
    `"your-api-key"`, `"sk-xxxx..."`) and values shorter than `generic_secret_min_length` are
    left alone.

    ## Why is this bad?
    A key in the source is in every clone, fork, wheel and CI log of the project, and in its git
    history after it is removed. Agent projects pass keys around a lot (model providers, search
    APIs, tracing), and a leaked model key is billed to you (OWASP LLM02, sensitive information
    disclosure).

    ## Example
    ```python
    client = OpenAI(api_key="sk-proj-Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gY")
    ```

    ## Use instead
    ```python
    client = OpenAI()  # reads OPENAI_API_KEY from the environment
    ```
    Read keys from the environment or a secret manager, and rotate any key that was committed.

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), for a literal that is a provider's key and nothing else: it
    is read from the provider's environment variable instead (`environ["OPENAI_API_KEY"]`, with
    `from os import environ`), which must then be set where the code runs. The key stays in
    the repository's history: rotate it, which no edit to the file can do.

    ## Options
    None. Key formats, credential keywords and placeholders are data in
    `rules/frameworks/secrets.toml`.

    ## References
    - https://docs.astral.sh/ruff/rules/hardcoded-password-string/
    - https://genai.owasp.org/llmrisk/llm022025-sensitive-information-disclosure/
    """

    meta = RuleMeta(
        code="TFS003",
        name="hardcoded-api-key",
        factor=None,
        severity="error",
        confidence="high",
        summary="A credential is written into the source",
        fix_advice=(
            "Read the key from the environment or a secret manager (`OpenAI()` reads "
            "`OPENAI_API_KEY`), and rotate the key: it stays in the git history."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
import os
from openai import OpenAI

client = OpenAI(api_key="sk-proj-Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gY")
HF = "hf_Vb7Kq2Lm9Zt4Rx8Wn1Yc6Hp3Jd0Sf5GaQe"
""",
            """
import os
from openai import OpenAI
from os import environ

client = OpenAI(api_key=environ["OPENAI_API_KEY"])
HF = environ["HF_TOKEN"]
""",
        ),
    ]

    invalid = [
        """
from openai import OpenAI

client = OpenAI(api_key="sk-proj-Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gY")  # expect: TFS003 @25-66 | Hardcoded OpenAI API key in a string literal
""",
        # Any module: an environment variable set in code, and a key in a plain constant.
        """
import os

os.environ["ANTHROPIC_API_KEY"] = "sk-ant-api03-Vb7Kq2Lm9Zt4Rx8Wn1Yc6Hp3Jd0Sf5Ga"  # expect: TFS003 @35-82 | Hardcoded Anthropic API key in a string literal
HF = "hf_Vb7Kq2Lm9Zt4Rx8Wn1Yc6Hp3Jd0Sf5GaQe"  # expect: TFS003 @6-45 | Hardcoded Hugging Face token in a string literal
""",
        # A random-looking value used as a credential, in a keyword, a config dict and a name.
        """
from tavily import TavilyClient

SEARCH_API_KEY = "k2Vb7Lq9Zt4Rx8Wn1Yc6Hp3Jd0Sf"  # expect: TFS003 @18-48 | Hardcoded credential assigned to `SEARCH_API_KEY`
search = TavilyClient(api_key="tv7Kq2Lm9Zt4Rx8Wn1Yc6Hp3Jd")  # expect: TFS003 @31-59 | Hardcoded credential passed as `api_key=`
config_list = [{"model": "gpt-4o", "api_key": "Q9wE4rT7yU2iO5pA8sD1fG6hJ3k"}]  # expect: TFS003 @47-76 | Hardcoded credential under the key `api_key`
""",
    ]
    valid = [
        """
import os
from openai import OpenAI

client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])
""",
        # A local server that ignores the key.
        """
from openai import OpenAI

client = OpenAI(base_url="http://localhost:8000/v1", api_key="EMPTY")
""",
        """
import os
from anthropic import Anthropic

client = Anthropic(api_key=os.getenv("ANTHROPIC_API_KEY"))
""",
    ]
    near_miss = [
        # A test fixture key too short for any key format.
        """
from openai import OpenAI

def test_client():
    client = OpenAI(api_key="sk-test")
    assert client.api_key == "sk-test"
""",
        # Placeholders that look like keys.
        """
import os

os.environ.setdefault("OPENAI_API_KEY", "sk-your-key-here-0000000000000000")
EXAMPLE = "sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
""",
        # Random-looking literals that are not credentials: a commit id, a model name.
        """
from openai import OpenAI

PINNED_COMMIT = "3f9a1c7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a"
client = OpenAI()
reply = client.chat.completions.create(model="ft:gpt-4o-mini:acme:intent-v2:9Xk2Lm4P", messages=[])
""",
        # A PostHog project key: public by design (it ships in every browser that sends events).
        """
POSTHOG_PROJECT_API_KEY = "phc_Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gYaLeWu"
""",
        # A sentinel made of words in a test.
        """
def test_mount():
    secret_access_key = "s3-secret-command-sentinel"
    assert secret_access_key
""",
        # The name of the environment variable, not its value.
        """
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(api_key="OPENAI_API_KEY_PRODUCTION_2025")
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._environ_values: set[int] = set()  # ids of the values of ``os.environ["X"] = ...``

    @classmethod
    def may_report(cls, text: str, tree: ast.Module | None, knowledge) -> bool:
        """A key format in the text or in a string's value, or a literal that could be a generic
        credential where the rule looks for one (below, :func:`_credential_literals`)."""
        if tree is None or has_key_format(text, knowledge):
            return True
        minimum = knowledge.generic_secret_min_length
        names = _name_patterns(knowledge)
        for node in _nodes(tree):
            if isinstance(node, ast.Constant):
                value = node.value
                if type(value) is str and len(value) >= 14 and has_key_format(value, knowledge):
                    return True
            elif type(node) in _CREDENTIAL_PLACES:
                for value in _credential_literals(node, knowledge.credential_keywords, names):
                    if len(value) >= minimum and not any(c.isspace() for c in value):
                        return True
        return False

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        text = literal_string(node)
        if text is not None:
            self._scan_text(node, text)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._scan_text(node, node.value)

    def _scan_text(self, node: cst.CSTNode, text: str) -> None:
        if len(text) < 14 or not has_key_format(text, self.ctx.knowledge):
            return
        for spec, pattern in _patterns(self.ctx.knowledge):
            for match in pattern.finditer(text):
                if self._random(match.group(0), 14):
                    whole = match.group(0) == text and isinstance(node, cst.SimpleString)
                    fix = None
                    if whole and spec.env and not self._env_value(node):
                        fix = CodeFix((RawEdit(node, f'environ["{spec.env}"]'),), (("os", "environ"),), unsafe=True)
                    self.report(node, f"Hardcoded {spec.name} in a string literal", fix=fix)
                    return

    # -- credentials in context -------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        knowledge = self.ctx.knowledge
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in knowledge.credential_keywords:
                self._check_value(arg.value, f"passed as `{arg.keyword.value}=`")
        qualname = self.ctx.qualname(node.func)
        if qualname in ("os.environ.setdefault", "os.putenv") and len(node.args) >= 2:
            name = literal_string(node.args[0].value)
            if name is not None and self._credential_name(name):
                self._check_value(node.args[1].value, f"assigned to the environment variable `{name}`")

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = literal_string(node.key)
        if key is not None and key in self.ctx.knowledge.credential_keywords:
            self._check_value(node.value, f"under the key `{key}`")

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._check_target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_target(node.target, node.value)

    def _check_target(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Subscript) and self.ctx.qualname(target.value) == "os.environ":
            self._environ_values.add(id(value))
            index = target.slice[0].slice if target.slice else None
            name = literal_string(index.value) if isinstance(index, cst.Index) else None
            if name is not None and self._credential_name(name):
                self._check_value(value, f"assigned to the environment variable `{name}`")
            return
        name = dotted_name(target)
        if name and self._credential_name(name.rsplit(".", 1)[-1]):
            self._check_value(value, f"assigned to `{name}`")

    def _env_value(self, node: cst.CSTNode) -> bool:
        """Is this literal the value of ``os.environ["X"] = "..."`` (reading it back is no fix)?"""
        return id(node) in self._environ_values

    def _credential_name(self, name: str) -> bool:
        return any(re.search(p, name) for p in self.ctx.knowledge.credential_names)

    def _check_value(self, value: cst.BaseExpression, how: str) -> None:
        text = literal_string(value)
        if text is None or self._known_format(text):
            return  # not a literal, or reported by the format check on the string itself
        minimum = self.ctx.knowledge.generic_secret_min_length
        if self._random(text, minimum) and not _words(text) and not re.fullmatch(r"[A-Z][A-Z0-9_]*", text) and "://" not in text:
            self.report(value, f"Hardcoded credential {how}")

    def _known_format(self, text: str) -> bool:
        return has_key_format(text, self.ctx.knowledge)

    def _random(self, text: str, minimum: int) -> bool:
        """Long enough, letters and digits, varied, no spaces, and no placeholder word."""
        knowledge = self.ctx.knowledge
        if len(text) < minimum or any(c.isspace() for c in text):
            return False
        if not (any(c.isdigit() for c in text) and any(c.isalpha() for c in text)):
            return False
        if len(set(text)) < 10:
            return False
        return not any(re.search(p, text) for p in knowledge.placeholder_patterns)


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``tree`` (in no particular order): ``ast.walk`` without its generator of
    fields per node, which was most of the screen's time."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append(value)


# The nodes :func:`_credential_literals` reads; the screen skips every other node unasked.
_CREDENTIAL_PLACES = frozenset({ast.keyword, ast.Dict, ast.Assign, ast.AnnAssign, ast.Call})


@functools.lru_cache(maxsize=4)
def _name_patterns(knowledge) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in knowledge.credential_names)


def _credential_literals(node: ast.AST, keywords, names) -> list[str]:
    """The string literals CPython's ``node`` puts where the rule reads a credential: passed by
    a credential keyword, under a credential key of a dict, assigned to a name (or to a
    subscript with a key) named like one, or after such a name in a call (``os.environ.setdefault``,
    ``os.putenv``). A superset of the rule's own tests, read from the other tree."""

    def named(name: str | None) -> bool:
        return name is not None and any(p.search(name) for p in names)

    def text(value: ast.AST | None) -> str | None:
        return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None

    found: list[str | None] = []
    if isinstance(node, ast.keyword) and node.arg in keywords:
        found.append(text(node.value))
    elif isinstance(node, ast.Dict):
        found += [text(v) for k, v in zip(node.keys, node.values, strict=True) if text(k) in keywords]
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            name = (
                target.id if isinstance(target, ast.Name)
                else target.attr if isinstance(target, ast.Attribute)
                else text(target.slice) if isinstance(target, ast.Subscript)
                else None
            )
            if named(name):
                found.append(text(node.value))
    elif isinstance(node, ast.Call) and len(node.args) >= 2 and named(text(node.args[0])):
        found.append(text(node.args[1]))
    return [value for value in found if value is not None]


@functools.lru_cache(maxsize=4)
def _patterns(knowledge) -> tuple:
    return tuple((spec, re.compile(spec.pattern)) for spec in knowledge.secret_patterns)


def _words(text: str) -> bool:
    """``s3-secret-command-sentinel``: words joined by separators, not a random key."""
    segments = [s for s in re.split(r"[-_.:]", text) if s]
    alphabetic = sum(len(s) for s in segments if s.isalpha() and len(s) >= 3)
    return len(segments) >= 2 and alphabetic >= 0.7 * sum(len(s) for s in segments)
