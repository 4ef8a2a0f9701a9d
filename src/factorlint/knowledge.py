"""Knowledge as data: the factors and, per framework, what its calls mean.

The tables live in the top-level ``rules/`` folder of the source tree and ship inside the wheel as
``factorlint/_knowledge``. They are validated by pydantic when read, so a broken table is a clear
:class:`KnowledgeError` naming the file and the field, never a crash deep inside a rule. A run
takes them from the compiled index in the per-user cache folder when it holds these very tables
(:mod:`factorlint.knowledge_index`), which spares it pydantic.

Qualified-name patterns use ``fnmatch`` syntax where ``*`` also crosses dots, so
``langchain_*.Chat*`` matches both ``langchain_openai.ChatOpenAI`` and
``langchain_community.chat_models.ChatOllama``.
"""

from __future__ import annotations

import fnmatch
import functools
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from factorlint.knowledge_schema import (  # noqa: F401 - re-exported for rules
    AgentSpec,
    BoundSpec,
    CallSpec,
    ClientSpec,
    ComponentSpec,
    Factor,
    FactorTable,
    Framework,
    HandoffSpec,
    HumanInputSpec,
    KnowledgeError,
    PromptBuilderSpec,
    PromptOwnerSpec,
    RemotePromptSpec,
    RetrySpec,
    SanitiserSpec,
    SecretPatternSpec,
    SecuritySection,
    SecuritySpec,
    SideEffectSpec,
    SinkSpec,
    ToolBindingSpec,
    ToolDecoratorSpec,
    UnsafeSettingSpec,
    VersionedDefault,
    WebRouteSpec,
    normalise_distribution,
)

# --------------------------------------------------------------------------------------------
# Loading and indexes


def _knowledge_root() -> Path:
    """The installed ``_knowledge`` folder, or the source tree's ``rules/`` in a checkout."""
    installed = Path(__file__).resolve().parent / "_knowledge"  # where the wheel puts it
    if installed.is_dir():
        return installed
    source_tree = Path(__file__).resolve().parents[2] / "rules"
    if source_tree.is_dir():
        return source_tree
    raise KnowledgeError("factorlint's knowledge tables are missing from the installation")


def _load_toml(path: Path, data: bytes | None = None) -> dict:
    """A table's TOML, from ``data`` when its bytes were read already."""
    try:
        if data is None:
            data = path.read_bytes()
        return tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: {exc}") from None


def _validation_message(path: Path, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"]
    if first["type"] == "unexpected_keyword_argument":  # a field the schema does not have
        message = "Extra inputs are not permitted"
    return f"{path.name}: {where}: {message}"


def qn_matches(pattern: str, qualname: str) -> bool:
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        return pattern == qualname
    return fnmatch.fnmatchcase(qualname, pattern)


_MAX_ANSWERS = 20_000


def under_packages(qualname: str, packages: Iterable[str]) -> bool:
    """Whether ``qualname`` is one of ``packages`` or a name inside one (``agents.run.Runner``
    is under ``agents``; ``agents_extra`` is not)."""
    return any(qualname == p or qualname.startswith(p + ".") for p in packages)


def _fixed_prefix(pattern: str) -> str:
    """The part of a pattern before its first wildcard: every name it matches starts so."""
    for index, ch in enumerate(pattern):
        if ch in "*?[":
            return pattern[:index]
    return pattern


class _PatternIndex:
    """Exact names in a dict, glob patterns in a list: most look-ups are a single dict hit.

    ``internal`` are the packages of a project scanned in library mode (:meth:`Knowledge.without`):
    no entry applies to a name under them, whichever table it comes from.
    """

    def __init__(self, internal: frozenset[str] = frozenset()) -> None:
        self.exact: dict[str, list] = {}
        self.globs: list[tuple[str, str, object]] = []  # (fixed prefix, pattern, value)
        self.internal = internal
        # Answers per qualified name: the same few hundred names are asked about millions of
        # times in a large repository, and each answer would otherwise try every glob.
        self._answers: dict[str, tuple] = {}

    def add(self, pattern: str, value: object) -> None:
        prefix = _fixed_prefix(pattern)
        if self._only_internal(pattern, prefix):
            return  # it could only ever match names of the project itself
        self._answers.clear()
        if prefix == pattern:
            self.exact.setdefault(pattern, []).append(value)
        else:
            self.globs.append((prefix, pattern, value))

    def _only_internal(self, pattern: str, prefix: str) -> bool:
        if prefix == pattern:
            return under_packages(pattern, self.internal)
        # A glob is wholly internal when its fixed part already enters an internal package:
        # ``langchain.*`` is, ``langchain_*.Chat*`` is not (the look-up filters its names).
        return any(prefix.startswith(p + ".") for p in self.internal)

    def get(self, qualname: str) -> list:
        answer = self._answers.get(qualname)
        if answer is None:
            found = []
            if not (self.internal and under_packages(qualname, self.internal)):
                found.extend(self.exact.get(qualname, ()))
                for prefix, pattern, value in self.globs:
                    # Only a name that starts with a glob's fixed part can match it: the pattern
                    # is compiled (and tried) only for names that get that far.
                    if qualname.startswith(prefix) and fnmatch.fnmatchcase(qualname, pattern):
                        found.append(value)
            if len(self._answers) > _MAX_ANSWERS:
                self._answers.clear()  # a bound on memory across a very large run
            answer = self._answers[qualname] = tuple(found)
        return list(answer)

    def first(self, qualname: str):
        found = self.get(qualname)
        return found[0] if found else None


class Knowledge:
    """All tables, with the indexes the recognisers query.

    ``internal_packages`` are the packages of the scanned project when it is itself a framework
    of the tables (library mode, see :meth:`without`): no entry applies to a name under them.
    """

    def __init__(
        self, factors: FactorTable, frameworks: list[Framework], internal_packages: frozenset[str] = frozenset()
    ) -> None:
        self.factors = factors
        self.frameworks = frameworks
        self.internal_packages = frozenset(internal_packages)
        self._views: dict[frozenset[str], Knowledge] = {}
        index = functools.partial(_PatternIndex, self.internal_packages)
        self.factor_by_number = {f.number: f for f in factors.factors}
        self.packages: set[str] = set()
        self.client_constructors = index()  # QN -> ClientSpec
        self.client_factories = index()
        self.client_modules: dict[str, ClientSpec] = {}
        self.clients_by_kind: dict[str, ClientSpec] = {}
        self.agent_constructors = index()  # QN -> (Framework, AgentSpec)
        self.handoff_functions = index()  # QN -> (Framework, HandoffSpec)
        self.graph_builders = index()  # QN -> (Framework, GraphSpec)
        self.retry_decorators = index()  # QN -> RetrySpec
        self.retry_constructors = index()
        self.remote_prompts = index()  # QN -> RemotePromptSpec
        self.prompt_builders = index()  # QN -> PromptBuilderSpec
        self.tool_decorators = index()  # QN -> ToolDecoratorSpec
        self.tool_base_classes = index()
        self.components = index()  # QN -> ComponentSpec
        self.side_effect_calls = index()  # QN -> SideEffectSpec
        self.side_effect_methods: dict[str, list[SideEffectSpec]] = {}  # method -> specs
        self.tool_frameworks: dict[int, Framework] = {}  # id(ToolDecoratorSpec) -> Framework
        self.route_decorators = index()  # QN -> WebRouteSpec
        self.route_functions = index()  # QN -> WebRouteSpec
        self.route_base_classes = index()  # QN -> WebRouteSpec
        # Agent security (TFS rules): merged from every table's [security] section.
        self.sinks = index()  # QN -> SinkSpec
        self.sanitisers = index()  # QN -> SanitiserSpec
        self.taint_propagators = index()  # QN -> True
        self.propagating_methods: set[str] = set()
        self.shell_programs: set[str] = set()
        self.shell_flags: set[str] = set()
        self.tool_methods: set[str] = set()
        self.unsafe_settings = index()  # QN -> UnsafeSettingSpec
        self.secret_patterns: list[SecretPatternSpec] = []
        self.credential_keywords: set[str] = set()
        self.credential_names: list[str] = []  # regular expressions
        self.placeholder_patterns: list[str] = []  # regular expressions
        self.generic_secret_min_length = 20
        self.distribution_of_package: dict[str, str] = {}
        for framework in frameworks:
            self._index(framework)

    def _index(self, fw: Framework) -> None:
        packages = [p for p in fw.packages if not under_packages(p, self.internal_packages)]
        self.packages.update(packages)
        if fw.distribution:
            for package in packages:
                self.distribution_of_package[package] = fw.distribution
        for client in fw.clients:
            self.clients_by_kind[client.kind] = client
            for pattern in client.constructors:
                self.client_constructors.add(pattern, client)
            for pattern in client.factories:
                self.client_factories.add(pattern, client)
            for module in client.modules:
                if not under_packages(module, self.internal_packages):
                    self.client_modules[module] = client
        for agent in fw.agents:
            for pattern in agent.constructors:
                self.agent_constructors.add(pattern, (fw, agent))
        for graph in fw.graphs:
            for pattern in graph.builders:
                self.graph_builders.add(pattern, (fw, graph))
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

    # -- library mode -------------------------------------------------------------------------

    def frameworks_distributed_as(self, distribution: str) -> frozenset[str]:
        """The frameworks whose own source a project published as ``distribution`` is (its
        ``distribution`` or one of its ``source_distributions``, compared as PEP 503 does)."""
        name = normalise_distribution(distribution)
        return frozenset(fw.name for fw in self.frameworks if name in fw.own_distributions())

    def without(self, frameworks: Iterable[str]) -> Knowledge:
        """These tables as seen from the source of ``frameworks`` themselves: library mode.

        A framework's own code uses its API as internal code, not as a framework it hands work
        to: in crewai's source, ``Crew.kickoff_for_each`` calling ``self.kickoff`` is crewai
        calling itself, not a user handing the loop to crewai. The view leaves out those
        frameworks (packages, clients, agents, hand-offs, tools, retries, ...), any other
        framework all of whose packages are theirs (LangChain's prompt table with LangChain),
        and every other table's entries for names under their packages (``smolagents.CodeAgent``
        in the security table), so such names are project code like any other: the project pass
        decides what reaches a model. Every other framework keeps applying: openai-agents
        calling the openai SDK still makes a model call.

        Names that are not frameworks here are ignored; a view is built once per set and
        memoised, and asking a view again for what it already leaves out returns the view.
        """
        names = frozenset(frameworks) & {fw.name for fw in self.frameworks}
        if not names:
            return self
        view = self._views.get(names)
        if view is None:
            packages = {p for fw in self.frameworks if fw.name in names for p in fw.packages}
            kept = [
                fw for fw in self.frameworks
                if fw.name not in names and not (fw.packages and all(under_packages(p, packages) for p in fw.packages))
            ]
            view = self._views[names] = Knowledge(self.factors, kept, self.internal_packages | packages)
        return view

    # -- questions --------------------------------------------------------------------------

    def is_framework_module(self, qualname: str) -> bool:
        root = qualname.split(".", 1)[0]
        if root not in self._package_roots:
            return False
        # An internal package under a framework's root (google.genai when google.* stays) is not.
        return not (self.internal_packages and under_packages(qualname, self.internal_packages))

    @functools.cached_property
    def _package_roots(self) -> frozenset[str]:
        return frozenset(p.split(".", 1)[0] for p in self.packages)

    def call_spec(self, client: ClientSpec, member_path: str) -> CallSpec | None:
        for spec in client.calls:
            if member_path in spec.methods:
                return spec
        return None

    def client_roots(self, client: ClientSpec) -> frozenset[str]:
        """The top-level packages a client kind comes from (``openai`` for ``openai.OpenAI``)."""
        roots = self.__dict__.setdefault("_client_roots", {})
        found = roots.get(id(client))
        if found is None:
            names = [*client.constructors, *client.factories, *client.modules]
            found = roots[id(client)] = frozenset(n.split(".", 1)[0] for n in names if n)
        return found

    @functools.cached_property
    def generating_names(self) -> frozenset[str]:
        """The last name of every model-call member of the tables (``create``, ``completion``,
        ``ainvoke``, ``generate_content``): a call whose name is none of these cannot turn out,
        once its receiver is resolved, to be a direct model call (but see ``any_name_roots``)."""
        names: set[str] = set()
        for client in self.clients_by_kind.values():
            for call in client.calls:
                for method in call.methods:
                    last = method.rsplit(".", 1)[-1]
                    if "*" not in last:
                        names.add(last)
        return frozenset(names)

    @functools.cached_property
    def any_name_roots(self) -> frozenset[str]:
        """The packages of clients any of whose methods is a model call (BAML's ``b.Extract(...)``)."""
        roots: set[str] = set()
        for client in self.clients_by_kind.values():
            if any("*" in m.rsplit(".", 1)[-1] for call in client.calls for m in call.methods):
                roots |= self.client_roots(client)
        return frozenset(roots)

    @functools.cached_property
    def _built_names(self) -> tuple[frozenset[str], frozenset[tuple[str, str]], tuple[str, ...]]:
        """What :meth:`names_something_built` looks in: every name of a model SDK or agent
        framework the tables say a program builds or calls with (client constructors, factories
        and modules, agents, graphs, hand-offs, tools, prompts) with each module or class above
        one; each of those names as (package, last name); the fixed part of every glob. Web
        routes, retry libraries and console prompts are not among them: a test of those builds
        no agent."""
        indexes = (
            self.client_constructors, self.client_factories, self.agent_constructors, self.graph_builders,
            self.handoff_functions, self.remote_prompts, self.prompt_builders, self.tool_decorators,
            self.tool_base_classes,
        )
        names: set[str] = set()
        last_names: set[tuple[str, str]] = set()
        for name in [*(n for index in indexes for n in index.exact), *self.client_modules]:
            parts = name.replace("()", "").split(".")  # ``fastapi.FastAPI().get`` is imported as ``fastapi.FastAPI``
            names.update(".".join(parts[: end + 1]) for end in range(len(parts)))
            last_names.add((parts[0], parts[-1]))
        globs = {prefix for index in indexes for prefix, _, _ in index.globs}
        return frozenset(names), frozenset(last_names), tuple(sorted(globs))

    def names_something_built(self, qualname: str) -> bool:
        """Whether importing ``qualname`` brings in something of a model SDK or agent framework
        the tables say a program builds or calls with: ``openai``, ``openai.OpenAI`` and
        ``litellm.completion`` do,
        ``openai.types.responses.Response`` (a data type) does not. A name is also known by its
        package and last name, so a class imported from the module that defines it
        (``langchain_openai.chat_models.ChatOpenAI``) counts as its public name does."""
        names, last_names, globs = self._built_names
        if qualname in names or any(qualname.startswith(g) or g.startswith(qualname + ".") for g in globs):
            return True
        root, _, rest = qualname.partition(".")
        if rest and (root, rest.rpartition(".")[2]) in last_names:
            return True
        from factorlint.engine.recognise.llm_names import match_llm_qualname

        return match_llm_qualname(self, qualname) is not None

    def clients_with_member(self, member_path: str) -> list[ClientSpec]:
        """Client kinds that have ``member_path`` as a model call (for unresolved receivers)."""
        memo = self.__dict__.setdefault("_clients_with_member", {})
        found = memo.get(member_path)
        if found is None:
            if len(memo) > 20_000:
                memo.clear()
            found = memo[member_path] = [c for c in self.clients_by_kind.values() if self.call_spec(c, member_path)]
        return found


def table_files(root: Path) -> list[Path]:
    """The tables under ``root``: factors.toml, then every framework table by name."""
    return [root / "factors.toml", *sorted((root / "frameworks").glob("*.toml"))]


def validated_tables(files: list[Path], contents: list[bytes] | None = None) -> tuple[FactorTable, list[Framework]]:
    """The tables in ``files`` (factors.toml first), validated by pydantic; from ``contents``
    when their bytes were read already. A KnowledgeError names the file and field at fault."""
    from pydantic import ValidationError

    tables = []
    for index, path in enumerate(files):
        schema = FactorTable if index == 0 else Framework
        try:
            tables.append(schema.model_validate(_load_toml(path, contents[index] if contents else None)))
        except ValidationError as exc:
            raise KnowledgeError(_validation_message(path, exc)) from None
    factors, *frameworks = tables
    return factors, frameworks


def load_knowledge(root: Path | None = None) -> Knowledge:
    """The tables under ``root`` (default: factorlint's own), validated by pydantic."""
    factors, frameworks = validated_tables(table_files(root or _knowledge_root()))
    return Knowledge(factors, frameworks)


@functools.lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """factorlint's own tables: from the compiled index when it holds them, else validated."""
    from factorlint.knowledge_index import indexed_tables

    factors, frameworks = indexed_tables(table_files(_knowledge_root()))
    return Knowledge(factors, frameworks)
