from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.recognisers import is_none, keyword_arg, positional_arg
from factorlint.engine.semantic.names import literal_string

_RESPONSES_METHODS = frozenset({"create", "parse", "stream"})
_UNPINNED_TAGS = frozenset({"", "latest"})


class RemoteOrUnpinnedPrompt(Rule):
    """## What it does
    Finds prompts fetched at run time without a pinned version: `hub.pull("owner/name")`,
    LangSmith `Client().pull_prompt("name")` without a `:<commit>` suffix, and OpenAI Responses
    calls with `prompt={"id": ...}` but no `"version"`. A prompt reference that is not a literal
    (so its pin cannot be checked) is reported as advice.

    ## Why is this bad?
    Factor 2 (own your prompts) asks for prompts that are versioned and reviewed with the code.
    An unpinned remote prompt is the opposite: someone edits it in a web console and the agent's
    behaviour changes in production without a commit, a review or a test run, and an old build
    can no longer be reproduced.

    ## Example
    ```python
    from langchain import hub

    prompt = hub.pull("hwchase17/react")
    ```

    ## Use instead
    ```python
    from langchain_core.prompts import PromptTemplate

    prompt = PromptTemplate.from_file("prompts/react.txt")  # reviewed text in the repository
    # or at least pinned: hub.pull("hwchase17/react:d15fe3c4")
    ```

    ## Fix safety
    No automatic fix: vendoring the prompt needs the network, which a linter must not use.

    ## Options
    The remote-prompt functions and how they are pinned are data (`rules/frameworks/*.toml`,
    `[[remote_prompts]]`). A tag of `latest` does not count as a pin.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-02-own-your-prompts.md
    """

    meta = RuleMeta(
        code="TFA0202",
        name="remote-or-unpinned-prompt",
        factor=2,
        severity="warning",
        confidence="high",
        summary="Prompt fetched at run time without a pinned version: it can change without a commit",
        fix_advice=(
            "Vendor the prompt into the repository as a template you review and test, or at least "
            "pin a version (`owner/name:<commit>`, a prompt `version`)."
        ),
    )

    invalid = [
        """
from langchain import hub

prompt = hub.pull("hwchase17/react")  # expect: TFA0202 @10-37 | `hub.pull("hwchase17/react")` fetches a prompt at run time without a pinned version: the text the model sees can change without a commit or a review.
""",
        """
import langsmith as ls

client = ls.Client()

def load():
    return client.pull_prompt("support-triage:latest")  # expect: TFA0202 @12-55 | `Client.pull_prompt("support-triage:latest")` fetches a prompt at run time without a pinned version: the text the model sees can change without a commit or a review.
""",
        """
from openai import OpenAI as Client

client = Client()
resp = client.responses.create(model="gpt-4.1", prompt={"id": "pmpt_abc123", "variables": {"city": "Paris"}})  # expect: TFA0202 @56-109 | `prompt={"id": ...}` uses the stored prompt's current version: an edit in the dashboard changes what the model sees without a commit.
""",
        # A reference built at run time cannot be checked: advice.
        """
from langchain_classic import hub

def load(name):
    return hub.pull(name)  # expect: TFA0202 @12-26 | `hub.pull(...)` fetches a prompt at run time and its reference is not a literal, so factorlint cannot check that it is pinned.
""",
    ]
    valid = [
        """
from langchain import hub

prompt = hub.pull("owner/name:abc123")
""",
        """
from langsmith import Client

PROMPT_REF = "support-triage:7f2c9e1a"
prompt = Client().pull_prompt(PROMPT_REF)
""",
        """
import openai

client = openai.OpenAI()
resp = client.responses.create(model="gpt-4.1", prompt={"id": "pmpt_abc123", "version": "4"})
""",
        """
from langchain import hub

def load(commit):
    return hub.pull(f"hwchase17/react:{commit}")
""",
    ]
    near_miss = [
        # A project function called pull, not LangChain's hub.
        """
from myapp import hub

prompt = hub.pull("hwchase17/react")
""",
        # `prompt=` of a Chat Completions call is not a remote prompt reference.
        """
from openai import OpenAI

client = OpenAI()
resp = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
""",
        # The prompt dict is built elsewhere: its version cannot be known, not reported.
        """
from openai import OpenAI

client = OpenAI()

def ask(prompt_ref):
    return client.responses.create(model="gpt-4.1", prompt=prompt_ref)
""",
        # Publishing a prompt to the hub is not fetching one.
        """
from langchain import hub

hub.push("acme/support-triage", prompt)
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.ctx.qualname(node.func)
        if qualname is None:
            return
        remote = self.ctx.knowledge.remote_prompts.first(qualname)
        if remote is not None:
            self._check_remote(node, qualname, remote)
            return
        llm = self.ctx.recognise.llm_call(node)
        if llm is not None and _is_responses_call(llm.qualname):
            self._check_prompt_dict(node, llm.requires)
            return
        agent = self.ctx.recognise.agent_construct(node)
        if agent is not None and agent.spec.prompt is not None and "prompt" in agent.spec.prompt.keywords:
            # OpenAI Agents SDK: Agent(prompt={"id": ..., "version": ...}) references the same
            # stored prompts as the Responses API.
            self._check_prompt_dict(node, ())

    # -- hub.pull / pull_prompt ---------------------------------------------------------------

    def _check_remote(self, node: cst.Call, qualname: str, spec) -> None:
        for keyword in spec.pin_keywords:
            arg = keyword_arg(node, keyword)
            if arg is not None and not is_none(arg.value):
                return
        function = qualname.replace("()", "").rsplit(".", 2)
        shown = ".".join(function[-2:])
        reference = self._reference_arg(node, spec)
        if reference is None:
            return  # passed by keyword or in *args/**kwargs: unknown
        text = self._literal_reference(reference)
        if text is not None:
            if _pinned(text, spec.pin_separator):
                return
            self.report(
                node,
                f"`{shown}(\"{text}\")` fetches a prompt at run time without a pinned version: "
                "the text the model sees can change without a commit or a review.",
                fix_message=self._fix(text, spec.pin_separator),
            )
            return
        if isinstance(reference, cst.FormattedString) and spec.pin_separator is not None:
            if _fstring_pinned(reference, spec.pin_separator):
                return  # f"owner/name:{commit}": pinned by an interpolated commit
        self.report(
            node,
            f"`{shown}(...)` fetches a prompt at run time and its reference is not a literal, so "
            "factorlint cannot check that it is pinned.",
            severity="advice",
            fix_message=self._fix(None, spec.pin_separator),
        )

    def _reference_arg(self, node: cst.Call, spec) -> cst.BaseExpression | None:
        arg = positional_arg(node, 0)
        if arg is not None:
            return arg.value
        for keyword in getattr(spec, "name_keywords", ()):
            arg = keyword_arg(node, keyword)
            if arg is not None:
                return arg.value
        return None

    def _literal_reference(self, expr: cst.BaseExpression) -> str | None:
        text = literal_string(expr)
        if text is not None:
            return text
        if isinstance(expr, cst.Name) and expr.value.lstrip("_").isupper():
            # A module-level constant of this file: PROMPT_REF = "owner/name:commit".
            value = self.ctx.scan.module_constants.get(expr.value)
            if value is not None:
                return literal_string(value)
        return None

    @staticmethod
    def _fix(text: str | None, separator: str | None) -> str:
        vendor = "Vendor the prompt into the repository (a template file you review and test)"
        if separator is None:
            return vendor + "."
        head, slash, name = (text or "owner/name").rpartition("/")
        example = f"`\"{head}{slash}{name.split(separator, 1)[0]}{separator}<commit>\"`"
        return f"{vendor}, or at least pin a commit: {example}."

    # -- Responses prompt={"id": ...} ------------------------------------------------------------

    def _check_prompt_dict(self, node: cst.Call, requires: tuple[str, ...]) -> None:
        arg = keyword_arg(node, "prompt")
        if arg is None:
            return
        keys = self._dict_keys(arg.value)
        if keys is None or "id" not in keys or "version" in keys:
            return
        self.report(
            arg.value,
            "`prompt={\"id\": ...}` uses the stored prompt's current version: an edit in the "
            "dashboard changes what the model sees without a commit.",
            requires_llm=requires,
            fix_message=(
                "Keep the prompt text in the repository and send it yourself, or at least pin "
                "`\"version\"` in the prompt reference."
            ),
        )

    def _dict_keys(self, expr: cst.BaseExpression) -> set[str] | None:
        """The keys of a dict literal or ``dict(...)`` call; None when some are unknown."""
        keys: set[str] = set()
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if not isinstance(element, cst.DictElement):
                    return None  # **spread
                key = literal_string(element.key)
                if key is None:
                    return None
                keys.add(key)
            return keys
        if isinstance(expr, cst.Call) and self.ctx.qualname(expr.func) == "builtins.dict":
            for arg in expr.args:
                if arg.star or arg.keyword is None:
                    return None
                keys.add(arg.keyword.value)
            return keys
        return None


def _is_responses_call(qualname: str) -> bool:
    parts = qualname.replace("()", "").split(".")
    return parts[-1] in _RESPONSES_METHODS and "responses" in parts[:-1]


def _pinned(reference: str, separator: str | None) -> bool:
    if separator is None:
        return False
    name = reference.rstrip("/").rsplit("/", 1)[-1]  # "https://host/owner/name:tag" -> "name:tag"
    if separator not in name:
        return False
    tag = name.split(separator, 1)[1].strip()
    return tag.lower() not in _UNPINNED_TAGS


def _fstring_pinned(node: cst.FormattedString, separator: str) -> bool:
    """``f"owner/name:{commit}"``: a separator in the literal text after the last "/"."""
    text = "".join(
        part.value if isinstance(part, cst.FormattedStringText) else "\0" for part in node.parts
    )
    name = text.rsplit("/", 1)[-1]
    if separator not in name:
        return False
    tag = name.split(separator, 1)[1]
    return "\0" in tag or tag.strip().lower() not in _UNPINNED_TAGS
