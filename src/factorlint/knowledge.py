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
import sys
from importlib import resources
from pathlib import Path
from typing import Optional

from pydantic import ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from factorlint.knowledge_schema import (  # noqa: F401 - re-exported for rules
    KnowledgeError,
    Factor,
    SecuritySection,
    FactorTable,
    CallSpec,
    ToolBindingSpec,
    ClientSpec,
    VersionedDefault,
    BoundSpec,
    PromptOwnerSpec,
    AgentSpec,
    HandoffSpec,
    RetrySpec,
    RemotePromptSpec,
    PromptBuilderSpec,
    ToolDecoratorSpec,
    ComponentSpec,
    HumanInputSpec,
    SideEffectSpec,
    WebRouteSpec,
    SinkSpec,
    SanitiserSpec,
    UnsafeSettingSpec,
    SecretPatternSpec,
    SecuritySpec,
    Framework,
)

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


_MAX_ANSWERS = 20_000


class _PatternIndex:
    """Exact names in a dict, glob patterns in a list: most look-ups are a single dict hit."""

    def __init__(self) -> None:
        self.exact: dict[str, list] = {}
        self.globs: list[tuple[str, object]] = []
        # Answers per qualified name: the same few hundred names are asked about millions of
        # times in a large repository, and each answer would otherwise try every glob.
        self._answers: dict[str, tuple] = {}

    def add(self, pattern: str, value: object) -> None:
        self._answers.clear()
        if any(ch in pattern for ch in "*?["):
            self.globs.append((pattern, value))
        else:
            self.exact.setdefault(pattern, []).append(value)

    def get(self, qualname: str) -> list:
        answer = self._answers.get(qualname)
        if answer is None:
            found = list(self.exact.get(qualname, ()))
            for pattern, value in self.globs:
                if fnmatch.fnmatchcase(qualname, pattern):
                    found.append(value)
            if len(self._answers) > _MAX_ANSWERS:
                self._answers.clear()  # a bound on memory across a very large run
            answer = self._answers[qualname] = tuple(found)
        return list(answer)

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
