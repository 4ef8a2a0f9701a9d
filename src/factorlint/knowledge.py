"""Knowledge as data: the factors and, per framework, what its calls mean.

The tables live in the top-level ``rules/`` folder of the source tree and ship inside the wheel as
``factorlint/_knowledge``. They are validated by pydantic when loaded, so a broken table is a clear
:class:`KnowledgeError` naming the file and the field, never a crash deep inside a rule.

Qualified-name patterns use ``fnmatch`` syntax where ``*`` also crosses dots, so
``langchain_*.Chat*`` matches both ``langchain_openai.ChatOpenAI`` and
``langchain_community.chat_models.ChatOllama``.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class KnowledgeError(Exception):
    """A knowledge table could not be read or does not follow the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# factors.toml


class Factor(_Strict):
    number: int = Field(ge=1, le=13)
    code: str  # "F08"
    title: str
    summary: str
    url: str
    weight: float = Field(gt=0)


class SecuritySection(_Strict):
    title: str
    summary: str


class FactorTable(_Strict):
    factors: list[Factor]
    security: SecuritySection


# --------------------------------------------------------------------------------------------
# frameworks/*.toml


class CallSpec(_Strict):
    """Member calls on a client (or module) that send a request to a model."""

    methods: list[str]  # member paths after the receiver: "chat.completions.create"
    prompt_keywords: list[str] = []  # keywords whose value is prompt text: system, instructions
    message_keywords: list[str] = []  # keywords holding a message list: messages, input
    prompt_positional: Optional[int] = None  # positional argument that is the prompt/messages
    tools_keywords: list[str] = []
    structured_keywords: list[str] = []  # response_format, text_format, output_format, ...
    always_structured: bool = False  # the call returns typed output whatever its arguments
    owns_loop: bool = False  # the SDK runs the model/tool loop itself (Anthropic tool_runner)
    bound: Optional["BoundSpec"] = None
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


class ToolBindingSpec(_Strict):
    """A chain method that binds tools to a model (LangChain ``bind_tools``)."""

    methods: list[str]
    tools_keywords: list[str] = ["tools"]
    tools_positional: Optional[int] = 0
    tool_choice_keywords: list[str] = []


class ClientSpec(_Strict):
    """A kind of object whose methods call a model (an SDK client, a chat model)."""

    kind: str
    constructors: list[str] = []  # QN patterns whose call returns this kind
    factories: list[str] = []  # functions returning this kind (instructor.from_openai, init_chat_model)
    modules: list[str] = []  # modules used directly as a client: "openai", "litellm"
    chain_methods: list[str] = []  # methods returning the same kind (with_options, bind_tools)
    structured_chain_methods: list[str] = []  # methods returning a structured-output runnable
    retry_keyword: Optional[str] = None  # constructor keyword holding the SDK's own retry count
    default_retries: Optional[int] = None
    calls: list[CallSpec]
    tool_bindings: list[ToolBindingSpec] = []
    # Member calls that write the conversation into a record the vendor holds (the Assistants
    # API's ``beta.threads.create`` / ``beta.threads.messages.create``); fnmatch patterns.
    vendor_state_methods: list[str] = []


class VersionedDefault(_Strict):
    versions: str = ""  # a PEP 440 specifier set; "" for every version
    value: Optional[int] = None  # None: no bound at all
    source: str = ""


class BoundSpec(_Strict):
    """The parameter that bounds a framework's loop and its default."""

    parameter: str
    where: Literal["constructor", "call", "config"] = "constructor"
    alternatives: list[str] = []  # other parameters that also bound the run (max_execution_time)
    config_key: Optional[str] = None  # with where="config": the key inside ``config={...}``
    defaults: list[VersionedDefault] = []
    none_disables: bool = True  # passing None removes the bound
    effectively_unbounded_above: Optional[int] = None
    distribution: Optional[str] = None  # PyPI name whose version selects the default
    # When the bound is passed as an object (``usage_limits=UsageLimits(request_limit=100)``): the
    # keyword of that object's constructor that holds the number.
    value_keyword: Optional[str] = None

    def default_for(self, version: Optional[str]) -> tuple[Optional[VersionedDefault], bool]:
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


class PromptOwnerSpec(_Strict):
    """Where a framework agent takes its prompt, and whether it writes one when none is given."""

    keywords: list[str] = []  # prompt text keywords (system_prompt, instructions, system_message)
    override_keywords: list[str] = []  # keywords that replace the framework's own template
    framework_default: bool = False  # omitting every override leaves a framework-written prompt
    default_description: str = ""


class AgentSpec(_Strict):
    """A framework construct that runs the model/tool loop on the developer's behalf."""

    name: str
    constructors: list[str]
    run_methods: list[str] = []  # methods that hand the loop to the framework
    chain_methods: list[str] = []  # methods returning the same construct (compile, with_config)
    call_runs: bool = False  # calling the instance itself runs the loop (dspy modules)
    owns_loop: bool = True  # False for developer-owned graphs (StateGraph)
    bound: Optional[BoundSpec] = None
    run_bound: Optional[BoundSpec] = None  # a bound passed to the run call instead
    prompt: Optional[PromptOwnerSpec] = None
    tools_keywords: list[str] = ["tools"]
    step_control_keywords: list[str] = []  # keywords that give step-level control
    step_control_methods: list[str] = []  # methods that give step-level control (iter)
    memory_keywords: list[str] = []
    checkpointer_keywords: list[str] = []
    approval_keywords: list[str] = []
    human_input: Optional[HumanInputSpec] = None
    interrupt_keywords: list[str] = []  # keywords that pause the run (interrupt_before/after)
    # The chain method that takes ``checkpointer_keywords`` and ``interrupt_keywords`` when the
    # constructor does not (StateGraph(...).compile(checkpointer=...)).
    checkpointer_method: Optional[str] = None
    # The memory the framework builds when none is passed to the run (LlamaIndex: ChatMemoryBuffer).
    default_memory: Optional[str] = None


class HandoffSpec(_Strict):
    """A function (not a method of an agent object) that runs an agent's loop."""

    name: str
    functions: list[str]
    bound: Optional[BoundSpec] = None
    step_control_keywords: list[str] = []
    state_keywords: list[str] = []  # keywords that keep the conversation on the vendor's servers


class RetrySpec(_Strict):
    """A retry helper and what bounds it."""

    name: str
    decorators: list[str] = []  # usable bare (@retry) or called (@retry(...))
    constructors: list[str] = []  # Retrying(...) objects
    stop_keywords: list[str]  # any of them present bounds the retry
    unbounded_values: list[str] = []  # QNs that explicitly mean "forever" (tenacity.stop_never)
    bare_is_unbounded: bool = True
    exception_keyword: Optional[str] = None  # retry= / exception=
    exception_positional: Optional[int] = None
    exception_default_is_everything: bool = True
    everything_values: list[str] = ["builtins.Exception", "builtins.BaseException"]
    exception_filters: list[str] = []  # wrappers whose argument lists exception types


class RemotePromptSpec(_Strict):
    functions: list[str]
    pin_separator: Optional[str] = None  # "owner/name:commit" pins with ":"
    pin_keywords: list[str] = []


class PromptBuilderSpec(_Strict):
    """Calls that build a prompt from text (SystemMessage, PromptTemplate.from_template)."""

    functions: list[str]
    keywords: list[str] = []  # keywords holding prompt text
    positional: Optional[int] = None  # positional argument holding prompt text
    message_tuples_positional: Optional[int] = None  # [("system", text), ...] lists


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
    persistent: Optional[bool] = None  # checkpointers: does state survive the process?
    # Non-persistent checkpointers that become persistent when given a location
    # (agents.SQLiteSession(session_id, db_path=...)): the keyword and its position.
    persistent_keywords: list[str] = []
    persistent_positional: Optional[int] = None
    # approval components: the keyword whose dict keys name the gated tools (interrupt_on=);
    # an approval component without one gates every tool it is given to.
    tools_keyword: Optional[str] = None
    # code_executor components: where the code runs. "none": on the host, as the program's user;
    # "restricted": an in-process interpreter with an import allow-list; "sandbox": a container,
    # a VM or a remote service. Unknown (None) is treated as "none" by the security rules.
    isolation: Optional[Literal["none", "restricted", "sandbox"]] = None


class HumanInputSpec(_Strict):
    """How a framework agent asks a person, and when that means the console or an approval.

    The value of ``keyword`` (or ``default`` when it is omitted) is compared with the lists:
    ``console_values`` read the console with the framework's default handler, ``approval_values``
    make a person confirm each step. ``console_if_absent``: omitting the keyword reads the console
    (autogen_agentchat ``UserProxyAgent`` without ``input_func=``). ``replaced_by`` names calls
    that install another handler for the whole process (CrewAI ``set_provider``).
    """

    keyword: str
    default: Optional[Union[bool, str]] = None
    console_values: list[Union[bool, str]] = []
    approval_values: list[Union[bool, str]] = []
    console_if_absent: bool = False
    replaced_by: list[str] = []


class SideEffectSpec(_Strict):
    """Calls that change the world outside the program (a shell, a file, a payment, an email).

    ``names`` are callee QN patterns. ``methods`` match a method name on any receiver, and only
    together with ``argument_pattern``: a regular expression the literal string argument at
    ``argument_position`` (or ``argument_keyword=``) must match, e.g. SQL that writes.
    """

    label: str  # what it does, for messages: "runs a shell command"
    names: list[str] = []
    methods: list[str] = []
    argument_pattern: Optional[str] = None
    argument_position: int = 0
    argument_keyword: Optional[str] = None
    # Calls that also serve reads (an HTTP POST to a search API): evidence only together with
    # another sign, such as a tool named like an action.
    ambiguous: bool = False

    @field_validator("argument_pattern")
    @classmethod
    def _compiles(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


class WebRouteSpec(_Strict):
    """What makes a function an entry point that something outside the program triggers.

    ``decorators`` (QN patterns: ``fastapi.FastAPI().post``) mark the decorated function;
    ``functions`` register a handler passed as an argument (``django.urls.path(route, view)``);
    ``base_classes`` make the ``handler_methods`` of a subclass handlers (Django ``View.post``).
    """

    kind: Literal["http", "websocket", "event", "queue", "schedule", "cli"] = "http"
    decorators: list[str] = []
    functions: list[str] = []
    handler_positional: Optional[int] = None  # registration calls: the handler argument
    handler_keywords: list[str] = []
    path_positional: Optional[int] = None  # the route path argument (decorator or registration)
    path_keywords: list[str] = []
    base_classes: list[str] = []
    handler_methods: list[str] = []


class SinkSpec(_Strict):
    """A call that is dangerous when a value the model chose reaches one of its arguments (TFS rules).

    ``kind`` says what the call does with the value: ``code`` runs it as Python, ``shell`` hands it
    to a shell, ``sql`` sends it to a database, ``deserialise`` unpickles it, ``fetch`` requests it
    as a URL. ``arguments`` / ``keywords`` carry the dangerous value. The call is a sink only when
    ``when_keyword`` has one of ``when_values`` (``shell=True``), or, with ``argv_shell``, when an
    argv list starts with a shell and its command flag (``["bash", "-c", cmd]``); it is not one
    when ``safe_keyword`` (or ``safe_positional``) names one of ``safe_values``
    (``Loader=yaml.SafeLoader``). ``interpolation_only``: only a value built into a larger string
    counts (an f-string, ``+``, ``.format``, ``%``), as for SQL.
    """

    kind: Literal["code", "shell", "sql", "deserialise", "fetch"]
    names: list[str]
    label: str = ""  # how messages name it: "eval()", "a shell"
    arguments: list[int] = [0]
    keywords: list[str] = []
    when_keyword: Optional[str] = None
    when_values: list[str] = ["True"]
    argv_shell: bool = False
    safe_keyword: Optional[str] = None
    safe_positional: Optional[int] = None
    safe_values: list[str] = []
    interpolation_only: bool = False
    untrusted_result: bool = True  # fetch sinks: the result is text from outside (not Request())
    source: str = ""


class SanitiserSpec(_Strict):
    """Calls whose result no longer carries the model's text for some sinks (shlex.quote, int)."""

    names: list[str]
    kinds: list[str] = []  # sink kinds it protects; empty: every kind


class UnsafeSettingSpec(_Strict):
    """A keyword that lets model-written code or commands run without isolation (TFS004).

    The keyword's value is unsafe when it is one of ``values`` (``True``, ``"unsafe"``), when it is
    a list holding one of ``elements`` (a module, or the module followed by ``.``; ``"*"``), or,
    with ``dict_key``, when that key of a dict literal has one of ``values``
    (``code_execution_config={"use_docker": False}``). ``sandbox_keyword`` with one of
    ``sandbox_values`` (``executor_type="docker"``), or any of ``sandbox_keywords`` present,
    moves the execution out of the process and makes the setting harmless.
    """

    name: str
    callables: list[str]
    keyword: str
    positional: Optional[int] = None
    values: list[Union[bool, str]] = []
    elements: list[str] = []
    dict_key: Optional[str] = None
    sandbox_keyword: Optional[str] = None
    sandbox_default: Optional[str] = None  # the value when the keyword is omitted
    sandbox_values: list[str] = []
    sandbox_keywords: list[str] = []
    severity: Literal["error", "warning"] = "error"
    description: str
    source: str = ""


class SecretPatternSpec(_Strict):
    """A credential format that is never a placeholder (an OpenAI key, a Slack token)."""

    name: str
    pattern: str
    source: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class SecuritySpec(_Strict):
    """Facts for the agent-security rules (TFS): sinks, sanitisers, code execution, secrets.

    ``propagators`` are functions outside the standard library whose result carries their
    argument's text (``yaml.safe_load``); ``propagating_methods`` are methods that do so whatever
    the receiver (``Model.model_validate_json``). ``tool_methods`` are the methods of a tool base
    class subclass that receive the model's arguments (``_run``, ``forward``).
    ``credential_keywords`` hold a credential when passed to a framework call;
    ``credential_names`` (a regular expression) name variables and environment variables that
    hold one; ``placeholder_pattern`` matches literals that are clearly not a real credential, and
    ``public_pattern`` keys meant to ship in client code (both are left alone).
    """

    sinks: list[SinkSpec] = []
    sanitisers: list[SanitiserSpec] = []
    propagators: list[str] = []
    propagating_methods: list[str] = []
    shell_programs: list[str] = []
    shell_flags: list[str] = []
    tool_methods: list[str] = []
    unsafe_settings: list[UnsafeSettingSpec] = []
    secret_patterns: list[SecretPatternSpec] = []
    credential_keywords: list[str] = []
    credential_names: Optional[str] = None
    placeholder_pattern: Optional[str] = None
    public_pattern: Optional[str] = None  # keys that are public by design (PostHog phc_)
    generic_secret_min_length: int = 20

    @field_validator("credential_names", "placeholder_pattern", "public_pattern")
    @classmethod
    def _compiles(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


class Framework(_Strict):
    name: str
    title: str
    packages: list[str]  # import roots that make a module agent-relevant
    distribution: Optional[str] = None
    clients: list[ClientSpec] = []
    agents: list[AgentSpec] = []
    handoffs: list[HandoffSpec] = []
    retries: list[RetrySpec] = []
    remote_prompts: list[RemotePromptSpec] = []
    prompt_builders: list[PromptBuilderSpec] = []
    tools: list[ToolDecoratorSpec] = []
    components: list[ComponentSpec] = []
    side_effects: list[SideEffectSpec] = []
    web_routes: list[WebRouteSpec] = []
    security: Optional[SecuritySpec] = None

    @field_validator("packages")
    @classmethod
    def _packages_are_dotted_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
                raise ValueError(f"not an import name: {name!r}")
        return value


CallSpec.model_rebuild()


# --------------------------------------------------------------------------------------------
# Loading and indexes


def _knowledge_root() -> Path:
    """The installed ``_knowledge`` folder, or the source tree's ``rules/`` in a checkout."""
    installed = resources.files("factorlint") / "_knowledge"
    if installed.is_dir():
        return Path(str(installed))
    source_tree = Path(__file__).resolve().parents[2] / "rules"
    if source_tree.is_dir():
        return source_tree
    raise KnowledgeError("factorlint's knowledge tables are missing from the installation")


def _load_toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: {exc}") from None


def _validation_message(path: Path, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{path.name}: {where}: {first['msg']}"


def qn_matches(pattern: str, qualname: str) -> bool:
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        return pattern == qualname
    return fnmatch.fnmatchcase(qualname, pattern)


class _PatternIndex:
    """Exact names in a dict, glob patterns in a list: most look-ups are a single dict hit."""

    def __init__(self) -> None:
        self.exact: dict[str, list] = {}
        self.globs: list[tuple[str, object]] = []

    def add(self, pattern: str, value: object) -> None:
        if any(ch in pattern for ch in "*?["):
            self.globs.append((pattern, value))
        else:
            self.exact.setdefault(pattern, []).append(value)

    def get(self, qualname: str) -> list:
        found = list(self.exact.get(qualname, ()))
        for pattern, value in self.globs:
            if fnmatch.fnmatchcase(qualname, pattern):
                found.append(value)
        return found

    def first(self, qualname: str):
        found = self.get(qualname)
        return found[0] if found else None


class Knowledge:
    """All tables, with the indexes the recognisers query."""

    def __init__(self, factors: FactorTable, frameworks: list[Framework]) -> None:
        self.factors = factors
        self.frameworks = frameworks
        self.factor_by_number = {f.number: f for f in factors.factors}
        self.packages: set[str] = set()
        self.client_constructors = _PatternIndex()  # QN -> ClientSpec
        self.client_factories = _PatternIndex()
        self.client_modules: dict[str, ClientSpec] = {}
        self.clients_by_kind: dict[str, ClientSpec] = {}
        self.agent_constructors = _PatternIndex()  # QN -> (Framework, AgentSpec)
        self.handoff_functions = _PatternIndex()  # QN -> (Framework, HandoffSpec)
        self.retry_decorators = _PatternIndex()  # QN -> RetrySpec
        self.retry_constructors = _PatternIndex()
        self.remote_prompts = _PatternIndex()  # QN -> RemotePromptSpec
        self.prompt_builders = _PatternIndex()  # QN -> PromptBuilderSpec
        self.tool_decorators = _PatternIndex()  # QN -> ToolDecoratorSpec
        self.tool_base_classes = _PatternIndex()
        self.components = _PatternIndex()  # QN -> ComponentSpec
        self.side_effect_calls = _PatternIndex()  # QN -> SideEffectSpec
        self.side_effect_methods: dict[str, list[SideEffectSpec]] = {}  # method -> specs
        self.tool_frameworks: dict[int, Framework] = {}  # id(ToolDecoratorSpec) -> Framework
        self.route_decorators = _PatternIndex()  # QN -> WebRouteSpec
        self.route_functions = _PatternIndex()  # QN -> WebRouteSpec
        self.route_base_classes = _PatternIndex()  # QN -> WebRouteSpec
        # Agent security (TFS rules): merged from every table's [security] section.
        self.sinks = _PatternIndex()  # QN -> SinkSpec
        self.sanitisers = _PatternIndex()  # QN -> SanitiserSpec
        self.taint_propagators = _PatternIndex()  # QN -> True
        self.propagating_methods: set[str] = set()
        self.shell_programs: set[str] = set()
        self.shell_flags: set[str] = set()
        self.tool_methods: set[str] = set()
        self.unsafe_settings = _PatternIndex()  # QN -> UnsafeSettingSpec
        self.secret_patterns: list[SecretPatternSpec] = []
        self.credential_keywords: set[str] = set()
        self.credential_names: list[str] = []  # regular expressions
        self.placeholder_patterns: list[str] = []  # regular expressions
        self.generic_secret_min_length = 20
        self.distribution_of_package: dict[str, str] = {}
        for framework in frameworks:
            self._index(framework)

    def _index(self, fw: Framework) -> None:
        self.packages.update(fw.packages)
        if fw.distribution:
            for package in fw.packages:
                self.distribution_of_package[package] = fw.distribution
        for client in fw.clients:
            self.clients_by_kind[client.kind] = client
            for pattern in client.constructors:
                self.client_constructors.add(pattern, client)
            for pattern in client.factories:
                self.client_factories.add(pattern, client)
            for module in client.modules:
                self.client_modules[module] = client
        for agent in fw.agents:
            for pattern in agent.constructors:
                self.agent_constructors.add(pattern, (fw, agent))
        for handoff in fw.handoffs:
            for pattern in handoff.functions:
                self.handoff_functions.add(pattern, (fw, handoff))
        for retry in fw.retries:
            for pattern in retry.decorators:
                self.retry_decorators.add(pattern, retry)
            for pattern in retry.constructors:
                self.retry_constructors.add(pattern, retry)
        for remote in fw.remote_prompts:
            for pattern in remote.functions:
                self.remote_prompts.add(pattern, remote)
        for builder in fw.prompt_builders:
            for pattern in builder.functions:
                self.prompt_builders.add(pattern, builder)
        for tools in fw.tools:
            self.tool_frameworks[id(tools)] = fw
            for pattern in tools.decorators:
                self.tool_decorators.add(pattern, tools)
            for pattern in tools.base_classes:
                self.tool_base_classes.add(pattern, tools)
        for component in fw.components:
            for pattern in component.names:
                self.components.add(pattern, component)
        for effect in fw.side_effects:
            for pattern in effect.names:
                self.side_effect_calls.add(pattern, effect)
            if effect.argument_pattern is not None:
                for method in effect.methods:
                    self.side_effect_methods.setdefault(method, []).append(effect)
        for route in fw.web_routes:
            for pattern in route.decorators:
                self.route_decorators.add(pattern, route)
            for pattern in route.functions:
                self.route_functions.add(pattern, route)
            for pattern in route.base_classes:
                self.route_base_classes.add(pattern, route)
        if fw.security is not None:
            self._index_security(fw.security)

    def _index_security(self, sec: SecuritySpec) -> None:
        for sink in sec.sinks:
            for pattern in sink.names:
                self.sinks.add(pattern, sink)
        for sanitiser in sec.sanitisers:
            for pattern in sanitiser.names:
                self.sanitisers.add(pattern, sanitiser)
        for pattern in sec.propagators:
            self.taint_propagators.add(pattern, True)
        self.propagating_methods.update(sec.propagating_methods)
        self.shell_programs.update(sec.shell_programs)
        self.shell_flags.update(sec.shell_flags)
        self.tool_methods.update(sec.tool_methods)
        for setting in sec.unsafe_settings:
            for pattern in setting.callables:
                self.unsafe_settings.add(pattern, setting)
        self.secret_patterns.extend(sec.secret_patterns)
        self.credential_keywords.update(sec.credential_keywords)
        if sec.credential_names:
            self.credential_names.append(sec.credential_names)
        if sec.placeholder_pattern:
            self.placeholder_patterns.append(sec.placeholder_pattern)
        if sec.public_pattern:
            self.placeholder_patterns.append(sec.public_pattern)
        if sec.secret_patterns or sec.credential_keywords:
            self.generic_secret_min_length = sec.generic_secret_min_length

    def is_framework_module(self, qualname: str) -> bool:
        root = qualname.split(".", 1)[0]
        return root in self._package_roots

    @functools.cached_property
    def _package_roots(self) -> frozenset[str]:
        return frozenset(p.split(".", 1)[0] for p in self.packages)

    def call_spec(self, client: ClientSpec, member_path: str) -> Optional[CallSpec]:
        for spec in client.calls:
            if member_path in spec.methods:
                return spec
        return None

    def clients_with_member(self, member_path: str) -> list[ClientSpec]:
        """Client kinds that have ``member_path`` as a model call (for unresolved receivers)."""
        return [c for c in self.clients_by_kind.values() if self.call_spec(c, member_path)]


def load_knowledge(root: Optional[Path] = None) -> Knowledge:
    root = root or _knowledge_root()
    factors_path = root / "factors.toml"
    try:
        factors = FactorTable.model_validate(_load_toml(factors_path))
    except ValidationError as exc:
        raise KnowledgeError(_validation_message(factors_path, exc)) from None
    frameworks = []
    for path in sorted((root / "frameworks").glob("*.toml")):
        try:
            frameworks.append(Framework.model_validate(_load_toml(path)))
        except ValidationError as exc:
            raise KnowledgeError(_validation_message(path, exc)) from None
    return Knowledge(factors, frameworks)


@functools.lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    return load_knowledge()
