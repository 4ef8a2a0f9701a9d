"""Knowledge schema, part two: side effects, web entry points, security sinks and secrets.

These tables describe what code does to the world (writes, shell, network, deserialisation) and
where requests come in, as opposed to what a model or framework call is (knowledge_schema).
"""

from __future__ import annotations

from typing import Annotated, Literal

from factorlint.knowledge_schema_base import Check, _Strict, compiles, record

# A regular expression of the tables (None where the field is optional).
Pattern = Annotated[str, Check(compiles)]


@record
class SideEffectSpec(_Strict):
    """Calls that change the world outside the program (a shell, a file, a payment, an email).

    ``names`` are callee QN patterns. ``methods`` match a method name on any receiver, and only
    together with ``argument_pattern``: a regular expression the literal string argument at
    ``argument_position`` (or ``argument_keyword=``) must match, e.g. SQL that writes.
    """

    label: str  # what it does, for messages: "runs a shell command"
    names: list[str] = []
    methods: list[str] = []
    argument_pattern: Pattern | None = None
    argument_position: int = 0
    argument_keyword: str | None = None
    # Calls that also serve reads (an HTTP POST to a search API): evidence only together with
    # another sign, such as a tool named like an action.
    ambiguous: bool = False


@record
class WebRouteSpec(_Strict):
    """What makes a function an entry point that something outside the program triggers.

    ``decorators`` (QN patterns: ``fastapi.FastAPI().post``) mark the decorated function;
    ``functions`` register a handler passed as an argument (``django.urls.path(route, view)``);
    ``base_classes`` make the ``handler_methods`` of a subclass handlers (Django ``View.post``).
    """

    kind: Literal["http", "websocket", "event", "queue", "schedule", "cli"] = "http"
    decorators: list[str] = []
    functions: list[str] = []
    handler_positional: int | None = None  # registration calls: the handler argument
    handler_keywords: list[str] = []
    path_positional: int | None = None  # the route path argument (decorator or registration)
    path_keywords: list[str] = []
    base_classes: list[str] = []
    handler_methods: list[str] = []


@record
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
    when_keyword: str | None = None
    when_values: list[str] = ["True"]
    argv_shell: bool = False
    safe_keyword: str | None = None
    safe_positional: int | None = None
    safe_values: list[str] = []
    interpolation_only: bool = False
    untrusted_result: bool = True  # fetch sinks: the result is text from outside (not Request())
    source: str = ""


@record
class SanitiserSpec(_Strict):
    """Calls whose result no longer carries the model's text for some sinks (shlex.quote, int)."""

    names: list[str]
    kinds: list[str] = []  # sink kinds it protects; empty: every kind


@record
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
    positional: int | None = None
    values: list[bool | str] = []
    elements: list[str] = []
    dict_key: str | None = None
    sandbox_keyword: str | None = None
    sandbox_default: str | None = None  # the value when the keyword is omitted
    sandbox_values: list[str] = []
    sandbox_keywords: list[str] = []
    severity: Literal["error", "warning"] = "error"
    description: str
    source: str = ""


@record
class SecretPatternSpec(_Strict):
    """A credential format that is never a placeholder (an OpenAI key, a Slack token)."""

    name: str
    pattern: Pattern
    source: str = ""
    # The environment variable the provider's SDK reads it from (OPENAI_API_KEY): the fix reads
    # the key from there instead of the source.
    env: str | None = None



@record
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
    credential_names: Pattern | None = None
    placeholder_pattern: Pattern | None = None
    public_pattern: Pattern | None = None  # keys that are public by design (PostHog phc_)
    generic_secret_min_length: int = 20
