"""The schema of the knowledge tables (rules/factors.toml and rules/frameworks/*.toml).

Every table is validated against these records (frozen dataclasses, validated by pydantic, see
:mod:`factorlint.knowledge_schema_base`) when it is read; an unknown field or a wrong type is a
KnowledgeError naming the file and the field. Fields added later are optional with a default, so
older tables stay valid.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal


class KnowledgeError(Exception):
    """A knowledge table could not be read or does not follow the schema."""


from factorlint.knowledge_schema_base import Bounds, Check, _Strict, record  # noqa: E402

# --------------------------------------------------------------------------------------------
# factors.toml


@record
class Factor(_Strict):
    number: Annotated[int, Bounds(ge=1, le=13)]
    code: str  # "F08"
    title: str
    summary: str
    url: str
    weight: Annotated[float, Bounds(gt=0)]


@record
class SecuritySection(_Strict):
    title: str
    summary: str


@record
class FactorTable(_Strict):
    factors: list[Factor]
    security: SecuritySection


# --------------------------------------------------------------------------------------------
# frameworks/*.toml


@record
class CallSpec(_Strict):
    """Member calls on a client (or module) that send a request to a model."""

    methods: list[str]  # member paths after the receiver: "chat.completions.create"
    prompt_keywords: list[str] = []  # keywords whose value is prompt text: system, instructions
    message_keywords: list[str] = []  # keywords holding a message list: messages, input
    prompt_positional: int | None = None  # positional argument that is the prompt/messages
    tools_keywords: list[str] = []
    structured_keywords: list[str] = []  # response_format, text_format, output_format, ...
    always_structured: bool = False  # the call returns typed output whatever its arguments
    owns_loop: bool = False  # the SDK runs the model/tool loop itself (Anthropic tool_runner)
    bound: BoundSpec | None = None
    tool_choice_keywords: list[str] = []  # keywords that can force the model to call a named tool
    # Keywords that chain the call to conversation state the vendor keeps on its servers
    # (OpenAI Responses ``previous_response_id=``, ``conversation=``): factor 5.
    state_keywords: list[str] = []
    # Attribute paths of the call's result that are SDK objects rather than plain data: "" is the
    # result itself, "choices[].message" its first choice's message ([] stands for any index).
    sdk_object_paths: list[str] = []
    # Attribute paths of the call's result that hold the reply's free text ("" the result itself,
    # "choices[].message.content"), and the name of each tool the model asked for
    # ("choices[].message.tool_calls[].function.name"); [] stands for any index or element.
    text_paths: list[str] = []
    tool_name_paths: list[str] = []
    # Keywords holding an options object (a dict or a config class) whose fields may carry the
    # structured_keywords / tools_keywords (google-genai ``config=GenerateContentConfig(...)``).
    options_keywords: list[str] = []


@record
class ToolBindingSpec(_Strict):
    """A chain method that binds tools to a model (LangChain ``bind_tools``)."""

    methods: list[str]
    tools_keywords: list[str] = ["tools"]
    tools_positional: int | None = 0
    tool_choice_keywords: list[str] = []


@record
class ClientSpec(_Strict):
    """A kind of object whose methods call a model (an SDK client, a chat model)."""

    kind: str
    constructors: list[str] = []  # QN patterns whose call returns this kind
    factories: list[str] = []  # functions returning this kind (instructor.from_openai, init_chat_model)
    modules: list[str] = []  # modules used directly as a client: "openai", "litellm"
    chain_methods: list[str] = []  # methods returning the same kind (with_options, bind_tools)
    structured_chain_methods: list[str] = []  # methods returning a structured-output runnable
    retry_keyword: str | None = None  # constructor keyword holding the SDK's own retry count
    default_retries: int | None = None
    calls: list[CallSpec]
    tool_bindings: list[ToolBindingSpec] = []
    # Member calls that write the conversation into a record the vendor holds (the Assistants
    # API's ``beta.threads.create`` / ``beta.threads.messages.create``); fnmatch patterns.
    vendor_state_methods: list[str] = []
    # The exception types (QNs) a second attempt can cure: rate limits, lost connections,
    # timeouts, server errors. TFA0902's fix narrows a retry of this kind's calls to them.
    transient_errors: list[str] = []


@record
class VersionedDefault(_Strict):
    versions: str = ""  # a PEP 440 specifier set; "" for every version
    value: int | None = None  # None: no bound at all
    source: str = ""


@record
class BoundSpec(_Strict):
    """The parameter that bounds a framework's loop and its default."""

    parameter: str
    where: Literal["constructor", "call", "config"] = "constructor"
    alternatives: list[str] = []  # other parameters that also bound the run (max_execution_time)
    config_key: str | None = None  # with where="config": the key inside ``config={...}``
    # With where="config": the config's place when it is passed by position (``invoke(input, config)``).
    config_position: int | None = None
    defaults: list[VersionedDefault] = []
    none_disables: bool = True  # passing None removes the bound
    effectively_unbounded_above: int | None = None
    distribution: str | None = None  # PyPI name whose version selects the default
    # When the bound is passed as an object (``usage_limits=UsageLimits(request_limit=100)``): the
    # keyword of that object's constructor that holds the number.
    value_keyword: str | None = None

    def default_for(self, version: str | None) -> tuple[VersionedDefault | None, bool]:
        """The default for ``version`` and whether the choice was certain.

        With an unknown version the answer is the newest range, and ``certain`` is False when the
        ranges disagree.
        """
        if not self.defaults:
            return None, True
        values = {d.value for d in self.defaults}
        if version is not None:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet
            from packaging.version import InvalidVersion, Version

            try:
                parsed = Version(version)
                for entry in self.defaults:
                    if not entry.versions or parsed in SpecifierSet(entry.versions):
                        return entry, True
            except (InvalidVersion, InvalidSpecifier):
                pass
        return self.defaults[-1], len(values) == 1


@record
class PromptOwnerSpec(_Strict):
    """Where a framework agent takes its prompt, and whether it writes one when none is given."""

    keywords: list[str] = []  # prompt text keywords (system_prompt, instructions, system_message)
    override_keywords: list[str] = []  # keywords that replace the framework's own template
    framework_default: bool = False  # omitting every override leaves a framework-written prompt
    default_description: str = ""


@record
class AgentSpec(_Strict):
    """A framework construct that runs the model/tool loop on the developer's behalf."""

    name: str
    constructors: list[str]
    run_methods: list[str] = []  # methods that hand the loop to the framework
    chain_methods: list[str] = []  # methods returning the same construct (compile, with_config)
    call_runs: bool = False  # calling the instance itself runs the loop (dspy modules)
    owns_loop: bool = True  # False for developer-owned graphs (StateGraph)
    bound: BoundSpec | None = None
    run_bound: BoundSpec | None = None  # a bound passed to the run call instead
    prompt: PromptOwnerSpec | None = None
    tools_keywords: list[str] = ["tools"]
    step_control_keywords: list[str] = []  # keywords that give step-level control
    step_control_methods: list[str] = []  # methods that give step-level control (iter)
    memory_keywords: list[str] = []
    checkpointer_keywords: list[str] = []
    approval_keywords: list[str] = []
    human_input: HumanInputSpec | None = None
    interrupt_keywords: list[str] = []  # keywords that pause the run (interrupt_before/after)
    # The chain method that takes ``checkpointer_keywords`` and ``interrupt_keywords`` when the
    # constructor does not (StateGraph(...).compile(checkpointer=...)).
    checkpointer_method: str | None = None
    # The memory the framework builds when none is passed to the run (LlamaIndex: ChatMemoryBuffer).
    default_memory: str | None = None


@record
class HandoffSpec(_Strict):
    """A function (not a method of an agent object) that runs an agent's loop."""

    name: str
    functions: list[str]
    bound: BoundSpec | None = None
    step_control_keywords: list[str] = []
    state_keywords: list[str] = []  # keywords that keep the conversation on the vendor's servers


@record
class GraphSpec(_Strict):
    """A graph the developer wires node by node (LangGraph's ``StateGraph``): its cycles are
    agent loops the developer owns, found from the builder's calls and the nodes' returns."""

    name: str
    builders: list[str]  # constructors of the builder object
    add_node: str = "add_node"  # (name, function) or (function)
    add_edge: str = "add_edge"  # (source, target)
    conditional_edges: str = "add_conditional_edges"  # (source, router, path_map)
    commands: list[str] = []  # a node's return that routes: Command(goto=...)
    goto_keyword: str = "goto"
    sends: list[str] = []  # Send("node", state): a route to a node, as a target
    start: list[str] = []  # the START and END markers
    end: list[str] = []
    interrupts: list[str] = []  # a node that calls one waits for a person (interrupt(...))


@record
class RetrySpec(_Strict):
    """A retry helper and what bounds it."""

    name: str
    decorators: list[str] = []  # usable bare (@retry) or called (@retry(...))
    constructors: list[str] = []  # Retrying(...) objects
    stop_keywords: list[str]  # any of them present bounds the retry
    unbounded_values: list[str] = []  # QNs that explicitly mean "forever" (tenacity.stop_never)
    bare_is_unbounded: bool = True
    exception_keyword: str | None = None  # retry= / exception=
    exception_positional: int | None = None
    exception_default_is_everything: bool = True
    everything_values: list[str] = ["builtins.Exception", "builtins.BaseException"]
    exception_filters: list[str] = []  # wrappers whose argument lists exception types


@record
class RemotePromptSpec(_Strict):
    functions: list[str]
    pin_separator: str | None = None  # "owner/name:commit" pins with ":"
    pin_keywords: list[str] = []


@record
class PromptBuilderSpec(_Strict):
    """Calls that build a prompt from text (SystemMessage, PromptTemplate.from_template)."""

    functions: list[str]
    keywords: list[str] = []  # keywords holding prompt text
    positional: int | None = None  # positional argument holding prompt text
    message_tuples_positional: int | None = None  # [("system", text), ...] lists


@record
class ToolDecoratorSpec(_Strict):
    decorators: list[str] = []  # also wrapper calls that take the function: Tool(fn), from_defaults(fn)
    base_classes: list[str] = []
    approval_keywords: list[str] = []
    # The framework writes the tool's description from the function's docstring unless one of
    # ``description_keywords`` is given to the decorator.
    description_from_docstring: bool = False
    description_keywords: list[str] = []
    name_keywords: list[str] = []  # keywords that rename the tool (name_override=, name=)
    # Parameter types the framework fills in rather than the model (RunContext, RunnableConfig);
    # also matched inside ``Annotated[..., InjectedToolArg]``.
    context_types: list[str] = []
    context_parameters: list[str] = []  # parameter names the framework fills in (run_manager)


@record
class ComponentSpec(_Strict):
    """Classes with a role other rules look for: memory, checkpointers, approval middleware.

    ``console_input`` names calls that block on a person typing at the console (``input``,
    ``click.prompt``).
    """

    role: Literal[
        "memory", "checkpointer", "approval", "interrupt", "code_executor", "console_input",
        "vendor_state", "webhook_verifier",
    ]
    names: list[str]
    persistent: bool | None = None  # checkpointers: does state survive the process?
    # Non-persistent checkpointers that become persistent when given a location
    # (agents.SQLiteSession(session_id, db_path=...)): the keyword and its position.
    persistent_keywords: list[str] = []
    persistent_positional: int | None = None
    # approval components: the keyword whose dict keys name the gated tools (interrupt_on=);
    # an approval component without one gates every tool it is given to.
    tools_keyword: str | None = None
    # code_executor components: where the code runs. "none": on the host, as the program's user;
    # "restricted": an in-process interpreter with an import allow-list; "sandbox": a container,
    # a VM or a remote service. Unknown (None) is treated as "none" by the security rules.
    isolation: Literal["none", "restricted", "sandbox"] | None = None


@record
class HumanInputSpec(_Strict):
    """How a framework agent asks a person, and when that means the console or an approval.

    The value of ``keyword`` (or ``default`` when it is omitted) is compared with the lists:
    ``console_values`` read the console with the framework's default handler, ``approval_values``
    make a person confirm each step. ``console_if_absent``: omitting the keyword reads the console
    (autogen_agentchat ``UserProxyAgent`` without ``input_func=``). ``replaced_by`` names calls
    that install another handler for the whole process (CrewAI ``set_provider``).
    """

    keyword: str
    default: bool | str | None = None
    console_values: list[bool | str] = []
    approval_values: list[bool | str] = []
    console_if_absent: bool = False
    replaced_by: list[str] = []


from factorlint.knowledge_schema_effects import (  # noqa: E402, F401 - re-exported
    SanitiserSpec,
    SecretPatternSpec,
    SecuritySpec,
    SideEffectSpec,
    SinkSpec,
    UnsafeSettingSpec,
    WebRouteSpec,
)

# A distribution name as PEP 503 normalises it: lower case, runs of "-", "_" and "." as one "-".
_NORMALISED_DISTRIBUTION = r"[a-z0-9]+(?:-[a-z0-9]+)*"


def normalise_distribution(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Pydantic_AI.slim`` is ``pydantic-ai-slim``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _dotted_names(value: list[str]) -> list[str]:
    for name in value:
        if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
            raise ValueError(f"not an import name: {name!r}")
    return value


def _normalised_names(value: tuple[str, ...]) -> tuple[str, ...]:
    for name in value:
        if not re.fullmatch(_NORMALISED_DISTRIBUTION, name):
            raise ValueError(f"not a normalised distribution name (lower case, '-' only): {name!r}")
    return value


@record
class Framework(_Strict):
    name: str
    title: str
    packages: Annotated[list[str], Check(_dotted_names)]  # import roots that make a module agent-relevant
    distribution: str | None = None
    # Other distributions whose own source is these packages (``distribution`` always counts): a
    # project published under one of these names is this framework, scanned in library mode.
    source_distributions: Annotated[tuple[str, ...], Check(_normalised_names)] = ()
    clients: list[ClientSpec] = []
    agents: list[AgentSpec] = []
    handoffs: list[HandoffSpec] = []
    graphs: list[GraphSpec] = []
    retries: list[RetrySpec] = []
    remote_prompts: list[RemotePromptSpec] = []
    prompt_builders: list[PromptBuilderSpec] = []
    tools: list[ToolDecoratorSpec] = []
    components: list[ComponentSpec] = []
    side_effects: list[SideEffectSpec] = []
    web_routes: list[WebRouteSpec] = []
    security: SecuritySpec | None = None

    def own_distributions(self) -> frozenset[str]:
        """The distribution names, normalised as PEP 503 does, whose source is this framework."""
        names = {*self.source_distributions}
        if self.distribution:
            names.add(normalise_distribution(self.distribution))
        return frozenset(names)

