"""FileContext: one parsed file and what its names mean.

Name resolution is a cheap import-alias map plus receiver bindings (found by :mod:`prescan`,
worked out by :mod:`bindings`), not LibCST's scope and qualified-name providers, which cost
several times the parse.

Resolved names are strings. An instance of ``T`` is written ``T()``, so ``client = OpenAI()`` then
``client.chat.completions.create`` resolves to ``openai.OpenAI().chat.completions.create``.
Names rooted in the project (``app.llm.client``, ``agent.determine_next_step``) resolve to their
module path; whether they reach a model is settled in the project pass.
"""

from __future__ import annotations

import builtins
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

import libcst as cst

from factorlint.engine.semantic.bindings import BindingInference
from factorlint.engine.semantic.flow import FunctionFlow, build_flow
from factorlint.engine.semantic.names import dotted_name
from factorlint.engine.semantic.prescan import Prescan, prescan
from factorlint.knowledge import Knowledge
from factorlint.model import PARAMETER

if TYPE_CHECKING:
    from factorlint.engine.agents.loops import LoopAnalyser
    from factorlint.engine.agents.recursion import RecursionAnalyser

_T = TypeVar("_T")
_MISSING = object()

_BUILTINS = frozenset(dir(builtins))
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__", "typing_extensions"}


class FileContext(BindingInference):
    def __init__(
        self,
        path: str,
        module: cst.Module,
        source: str,
        module_name: str,
        package: str,
        knowledge: Knowledge,
        settings,
    ) -> None:
        self.path = path
        self.module = module
        self.source = source
        self.module_name = module_name
        self.package = package
        self.knowledge = knowledge
        self.settings = settings
        self.scan: Prescan = prescan(module, package)
        self.imports = self.scan.imports
        self.module_bindings: dict[str, str] = {}
        self.class_bindings: dict[str, dict[str, str]] = {}
        self.local_bindings: dict[int, dict[str, str]] = {}
        # Names bound to a callable rather than an instance (``completion = client.chat.
        # completions.create``): name -> the callable's resolved name, in the same three scopes.
        self.module_aliases: dict[str, str] = {}
        self.class_aliases: dict[str, dict[str, str]] = {}
        self.local_aliases: dict[int, dict[str, str]] = {}
        # Traversal state, kept current by the batched visitor.
        self.function_stack: list[cst.FunctionDef] = []
        self.class_stack: list[cst.ClassDef] = []
        self.loop_stack: list[cst.CSTNode] = []
        # The depth of the function stack at each ``if``, ``while`` and ``for`` the walk is in,
        # innermost last (None: no participant of the walk keeps it; see call_recorder.Guards).
        self.guard_depths: list[int] | None = None
        self._flows: dict[int, FunctionFlow] = {}  # id(def or module) -> its value-flow index
        self._analyses: dict[Callable, object] = {}
        # The optional analyses the enabled rules declare they read (``Rule.needs``).
        self.needs: frozenset[str] = frozenset()
        self._qualnames: dict | None = None  # no answers are kept while the bindings are being worked out
        self._current_class_qualname: str | None = None
        self._resolve_bindings()
        # Bindings are settled from here on, so a name's meaning depends only on the node and
        # where the walk stands (innermost function; the class the bindings pass was in). Most
        # rules ask about every call's callee; one answer serves them all. The entry keeps the
        # node alive, so its id cannot be reused by another node while the answer is kept.
        self._qualnames = {}
        self.relevant = self._is_relevant()
        from factorlint.engine.recognise.recognisers import Recognisers

        self.recognise = Recognisers(self)

    # -- the file's analyses -----------------------------------------------------------------
    # Each is built by the engine module that owns it, on first use, and kept for the file: the
    # rules read them and never fill them. ``loops``, ``recursion`` and ``flow`` are the ones the
    # engine itself asks for everywhere; the others are reached through ``analysis``.

    @functools.cached_property
    def loops(self) -> LoopAnalyser:
        """The shared loop analyser (one analysis per loop, whatever the number of rules asking)."""
        from factorlint.engine.agents.loops import LoopAnalyser

        return LoopAnalyser(self)

    def flow(self, scope: cst.FunctionDef | cst.Module) -> FunctionFlow:
        """The value-flow index of a function (or of the module's own statements), built once."""
        found = self._flows.get(id(scope))
        if found is None:
            found = self._flows[id(scope)] = build_flow(scope)
        return found

    def current_flow(self) -> FunctionFlow:
        """The value-flow index of the function the walk is in (of the module at top level)."""
        return self.flow(self.function_stack[-1] if self.function_stack else self.module)

    @functools.cached_property
    def recursion(self) -> RecursionAnalyser:
        """The shared analysis of agent loops written as recursion (one per function)."""
        from factorlint.engine.agents.recursion import RecursionAnalyser

        return RecursionAnalyser(self)

    def analysis(self, build: Callable[[FileContext], _T]) -> _T:
        """The analysis ``build`` makes of this file (a class or function of the engine module
        that owns it: ``ResponseTracker``, ``TaintAnalyser``, ``EntryPoints``...), built on first
        use and kept for the file. Each module exposes it through a typed accessor
        (``responses.tracker(ctx)``); the context knows none of them."""
        found = self._analyses.get(build, _MISSING)
        if found is _MISSING:
            found = self._analyses[build] = build(self)
        return cast(_T, found)

    def instance_type_of(self, value: cst.BaseExpression) -> str | None:
        """The type QN of the object an expression evaluates to, when it is a known call."""
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Call):
            callee = self.qualname(value.func)
            return self.type_of_call(callee) if callee is not None else None
        if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
            # ``client or self.create_client()``: what either side builds.
            return self.instance_type_of(value.left) or self.instance_type_of(value.right)
        if isinstance(value, cst.IfExp):
            # ``Llm(self) if llm is None else llm``: what the branch that builds one builds.
            return self.instance_type_of(value.body) or self.instance_type_of(value.orelse)
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.BitOr):
            # LCEL: ``prompt | llm | parser`` keeps the model's type for recognition.
            for side in (value.left, value.right):
                side_type = self.instance_type_of(side)
                if side_type is not None and self.knowledge_client(side_type) is not None:
                    return side_type
            return None
        if not isinstance(value, (cst.Name, cst.Attribute)):
            return None
        qn = self.qualname(value)
        if qn is not None and qn.endswith("()"):
            return qn[:-2]
        return None

    def type_of_call(self, callee: str) -> str:
        """What calling ``callee`` returns: the same instance for chain methods, else ``callee``."""
        annotated = self.return_types.get(callee)
        if annotated is not None:
            return annotated
        if "()." in callee:
            receiver, member = callee.rsplit("().", 1)
            client = self.knowledge_client(receiver)
            if client is not None and (
                member in client.chain_methods or member in client.structured_chain_methods
            ):
                return receiver
            agent = self.knowledge.agent_constructors.first(receiver)
            if agent is not None and member in agent[1].chain_methods:
                return receiver
        return callee

    def knowledge_client(self, type_qn: str):
        return self.knowledge.client_constructors.first(
            type_qn
        ) or self.knowledge.client_factories.first(type_qn)

    # -- resolution -------------------------------------------------------------------------

    def qualname(self, node: cst.BaseExpression) -> str | None:
        """The resolved dotted name of an expression, or None when it cannot be known."""
        memo = self._qualnames
        if memo is None:
            return self._qualname(node)
        key = (id(node), id(self.function_stack[-1]) if self.function_stack else 0, self._current_class_qualname)
        entry = memo.get(key)
        if entry is None:
            entry = memo[key] = (node, self._qualname(node))
        return entry[1]

    def _qualname(self, node: cst.BaseExpression) -> str | None:
        if isinstance(node, cst.Name):
            return self._narrowed_type(node) or self._resolve_name(node.value)
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                return self._narrowed_type(node) or self._resolve_self_attribute(node.attr.value)
            base = self.qualname(node.value)
            if base is None:
                return None
            typed = self._attribute_type(base[:-2], node.attr.value) if base.endswith("()") else None
            return typed + "()" if typed is not None else f"{base}.{node.attr.value}"
        if isinstance(node, cst.Call):
            callee = self.qualname(node.func)
            return self.type_of_call(callee) + "()" if callee is not None else None
        if isinstance(node, cst.Await):
            return self.qualname(node.expression)
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
            return self._resolve_name(node.value.value + "[]")  # ``handlers[kind]``
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            type_qn = self.instance_type_of(node)
            return type_qn + "()" if type_qn is not None else None
        return None

    def parameter_qualname(self, function: cst.FunctionDef, name: str) -> str:
        """``app.run.<param>.client`` for an untyped parameter: the project pass binds it to what
        the callers in other files pass (model.PARAMETER)."""
        return f"{self.module_name}.{self.scan.function_qualnames.get(id(function), '')}{PARAMETER}{name}"

    def _narrowed_type(self, node: cst.BaseExpression) -> str | None:
        """``C()`` for a use of a name an enclosing ``if isinstance(name, C):`` pins to C."""
        kind = self.scan.narrowed.get(id(node))
        if kind is None:
            return None
        type_qn = self.qualname(kind)
        return type_qn + "()" if type_qn is not None else None

    def _resolve_name(self, name: str) -> str | None:
        for function in reversed(self.function_stack):
            bound = self.local_bindings.get(id(function), {}).get(name)
            if bound is not None:
                return bound + "()"
            alias = self.local_aliases.get(id(function), {}).get(name)
            if alias is not None:
                return alias
            nested = self.scan.local_functions.get(id(function), {}).get(name)
            if nested is not None:
                return f"{self.module_name}.{nested}"
            if name in self.scan.local_names.get(id(function), ()):
                if name in self.scan.parameters.get(id(function), ()) and name not in ("self", "cls"):
                    return self.parameter_qualname(function, name)
                return None  # a local the bindings could not type
        bound = self.module_bindings.get(name)
        if bound is not None:
            return bound + "()"
        alias = self.module_aliases.get(name)
        if alias is not None:
            return alias
        imported = self.imports.get(name)
        if imported is not None:
            return imported
        if name in self.scan.module_functions or name in self.scan.classes:
            return f"{self.module_name}.{name}"
        if name in _BUILTINS and name not in self.scan.module_assigned:
            return f"builtins.{name}"
        return None

    def _resolve_self_attribute(self, attr: str) -> str | None:
        class_qualname = self.current_class_qualname()
        if class_qualname is None:
            return None
        for candidate in self._class_and_bases(class_qualname):
            bound = self.class_bindings.get(candidate, {}).get(attr)
            if bound is not None:
                return self._dispatched_on_self(bound, class_qualname) + "()"
            alias = self.class_aliases.get(candidate, {}).get(attr)
            if alias is not None:
                return alias
            if attr in self.scan.methods.get(candidate, {}):
                method = f"{self.module_name}.{candidate}.{attr}"
                if method in self.property_qualnames and method in self.return_types:
                    return self.return_types[method] + "()"
                return method
        if self.scan.class_bases.get(class_qualname):
            # Inherited from a base defined elsewhere: settled by the project pass's class graph.
            return f"{self.module_name}.{class_qualname}.{attr}"
        return None

    def _attribute_type(self, class_qn: str, attr: str) -> str | None:
        """The declared type of ``attr`` on an instance of a class of this file
        (``self.rc.memory`` with ``rc: RoleContext`` and ``RoleContext.memory: Memory``)."""
        prefix = self.module_name + "."
        if not class_qn.startswith(prefix):
            return None
        for candidate in self._class_and_bases(class_qn[len(prefix):]):
            bound = self.class_bindings.get(candidate, {}).get(attr)
            if bound is not None:
                return bound
        return None

    def _dispatched_on_self(self, bound: str, class_qualname: str) -> str:
        """``self.client = self.create_client()`` in a base class, read in a subclass that
        overrides ``create_client``: the attribute holds what the override returns (smolagents'
        ``InferenceClientModel``). ``bound`` is the base method's result type when it has none."""
        prefix = self.module_name + "."
        if not bound.startswith(prefix):
            return bound
        owner, _, method = bound[len(prefix):].rpartition(".")
        if method not in self.scan.methods.get(owner, {}):
            return bound
        for candidate in self._class_and_bases(class_qualname):
            if method in self.scan.methods.get(candidate, {}):
                return self.return_types.get(f"{prefix}{candidate}.{method}", bound)
        return bound

    def class_bases_resolved(self) -> dict[str, list[str]]:
        """Each class of this module with its bases' qualified names (for the project pass)."""
        resolved = {}
        for class_qualname, bases in self.scan.class_bases.items():
            names = [self.qualname(base) for base in bases]
            resolved[f"{self.module_name}.{class_qualname}"] = [n for n in names if n]
        return resolved

    def _class_and_bases(self, class_qualname: str) -> list[str]:
        """The class and the bases defined in this file (for ``self`` look-ups)."""
        seen = [class_qualname]
        for base in self.scan.class_bases.get(class_qualname, []):
            name = dotted_name(base)
            if name in self.scan.classes and name not in seen:
                seen.append(name)
        return seen

    def current_class_qualname(self) -> str | None:
        if self.function_stack:
            owner = self.scan.class_of_function.get(id(self.function_stack[-1]))
            if owner is not None:
                return owner
            # A nested def or lambda inside a method still sees the method's ``self``.
            for function in reversed(self.function_stack):
                owner = self.scan.class_of_function.get(id(function))
                if owner is not None:
                    return owner
        return self._current_class_qualname

    def function_qualname(self, function: cst.FunctionDef) -> str:
        return f"{self.module_name}.{self.scan.function_qualnames.get(id(function), function.name.value)}"

    def may_be_decided(self) -> bool:
        """Whether a test or loop of the innermost function may decide if the node being visited
        runs (``FunctionFlow.guards`` says which exactly, once the function is read)."""
        depths = self.guard_depths
        return depths is None or (bool(depths) and depths[-1] == len(self.function_stack))

    def current_function_qualname(self) -> str | None:
        return self.function_qualname(self.function_stack[-1]) if self.function_stack else None

    # -- classification ---------------------------------------------------------------------

    def is_external(self, qualname: str) -> bool:
        """Names from the standard library, builtins or a known framework (never project code)."""
        root = qualname.split(".", 1)[0]
        return root == "builtins" or root in _STDLIB or self.knowledge.is_framework_module(qualname)

    def is_project_candidate(self, qualname: str) -> bool:
        """Could this name be a function of the scanned project (resolved in the project pass)?"""
        return not self.is_external(qualname)

    def _is_relevant(self) -> bool:
        roots = self.knowledge._package_roots
        extra = tuple(getattr(self.settings, "llm_functions", ()) or ())
        for module in self.scan.imported_modules:
            if module.split(".", 1)[0] in roots:
                return True
        return bool(extra)

    @functools.cached_property
    def imported_roots(self) -> frozenset[str]:
        """The top-level packages this module imports, anywhere in it (lazy imports included)."""
        return frozenset(module.split(".", 1)[0] for module in self.scan.imported_modules)

    def code_for(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def release(self) -> None:
        """Let go of the file's tree and of everything built from it, once the analysis is done.

        The recognisers and the analyses the context keeps hold the context in turn: a reference
        cycle that keeps the whole tree alive until a full garbage collection, which on a large
        run also scans every other tree still waiting for one. Emptied, the context holds nothing,
        so the tree is freed as soon as the runner drops its last node.
        """
        self.__dict__.clear()
