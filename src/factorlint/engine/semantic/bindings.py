"""What names hold, worked out once when a file's context is built: the bindings of modules,
classes and functions (``client = OpenAI()``, ``self.llm = llm``, annotations, parameter defaults,
either branch of an ``if``), return types inferred from ``return`` statements, parameters typed by
the module's own calls, and lazy module proxies. A mixin of :class:`context.FileContext`, which
resolves names with the tables filled here.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import libcst as cst

from factorlint.engine.parse.walk import find_all
from factorlint.engine.semantic.names import dotted_name, literal_string

if TYPE_CHECKING:
    from factorlint.engine.semantic.prescan import Prescan
    from factorlint.knowledge import Knowledge

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__", "typing_extensions"}
_FIELD_FACTORIES = frozenset(
    {"pydantic.Field", "pydantic.fields.Field", "dataclasses.field", "attr.ib", "attrs.field",
     "attr.attrib", "sqlmodel.Field", "msgspec.field"}
)
_OPTIONAL_WRAPPERS = frozenset({"typing.Optional", "typing.Annotated", "typing_extensions.Annotated"})
_PARTIALS = frozenset({"functools.partial"})


class BindingInference:
    """Fills the binding tables of :class:`context.FileContext` (declared here for the checker)."""

    scan: Prescan
    knowledge: Knowledge
    module_name: str
    module_bindings: dict[str, str]
    class_bindings: dict[str, dict[str, str]]
    local_bindings: dict[int, dict[str, str]]
    module_aliases: dict[str, str]
    class_aliases: dict[str, dict[str, str]]
    local_aliases: dict[int, dict[str, str]]
    return_types: dict[str, str]
    property_qualnames: set[str]
    function_stack: list[cst.FunctionDef]
    _current_class_qualname: str | None

    if TYPE_CHECKING:

        def qualname(self, node: cst.BaseExpression) -> str | None: ...

        def instance_type_of(self, value: cst.BaseExpression) -> str | None: ...

        def knowledge_client(self, type_qn: str): ...

        def _resolve_name(self, name: str) -> str | None: ...

    def _resolve_bindings(self) -> None:
        for function, name, annotation in self.scan.annotations:
            type_qn = self.annotation_type(annotation)
            if type_qn is not None:
                self.local_bindings.setdefault(id(function), {})[name] = type_qn
        for class_qualname, attr, annotation in self.scan.attribute_annotations:
            type_qn = self.annotation_type(annotation)
            if type_qn is not None:
                self.class_bindings.setdefault(class_qualname, {})[attr] = type_qn
        self.return_types: dict[str, str] = {}
        for function_id, annotation in self.scan.returns.items():
            type_qn = self.annotation_type(annotation)
            if type_qn is not None:
                qualname = self.scan.function_qualnames.get(function_id)
                if qualname is not None:
                    self.return_types[f"{self.module_name}.{qualname}"] = type_qn
        self.property_qualnames = {
            f"{self.module_name}.{self.scan.function_qualnames[i]}"
            for i in self.scan.properties
            if i in self.scan.function_qualnames
        }
        self._resolve_pending(self.scan.pending)
        if self._infer_return_types():
            # ``self.client = self._create_client()`` with the factory's type now known.
            self._resolve_pending([p for p in self.scan.pending if isinstance(p.value, (cst.Call, cst.Await))])
        self._bind_module_proxies()
        typed = self._bind_parameters_from_callers()
        if typed:
            # ``self.llm = llm`` in an ``__init__`` whose ``llm`` a caller just typed.
            self._resolve_pending([p for p in self.scan.pending if p.function is not None and id(p.function) in typed])
        self.function_stack = []
        self._current_class_qualname = None

    def _bind_module_proxies(self) -> None:
        """``litellm = LazyLiteLLM()``, a class of this module whose ``__getattr__`` forwards to a
        module it imports on first use (``importlib.import_module("litellm")``): the name stands
        for that module, as aider uses it. Only a model framework's module is followed."""
        for pending in self.scan.pending:
            value = pending.value
            if pending.function is not None or pending.class_qualname is not None or "." in pending.target:
                continue
            if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)):
                continue
            cls = self.scan.classes.get(value.func.value)
            if cls is None or "__getattr__" not in self.scan.methods.get(value.func.value, {}):
                continue
            module = _imported_by_name(cls)
            if module is not None and self.knowledge.is_framework_module(module):
                self.module_bindings.pop(pending.target, None)
                self.module_aliases[pending.target] = module

    def _infer_return_types(self) -> bool:
        """A function with no return annotation whose every ``return`` builds the same kind of
        object (``return cls(llm)``, ``return ChatOpenAI(...)``, ``return self._client``) returns
        that type: a factory's callers are typed through it, in this file and, through the
        file's facts, in the others."""
        inferred = False
        by_id = {id(f): f for f in self.scan.module_functions.values()}
        by_id.update((id(f), f) for methods in self.scan.methods.values() for f in methods.values())
        by_id.update(self.scan.nested_by_id)
        for function_id, values in self.scan.return_values.items():
            qualname = self.scan.function_qualnames.get(function_id)
            if qualname is None or function_id in self.scan.returns:
                continue
            function = by_id.get(function_id)
            if function is None:
                continue
            self.function_stack = [function]
            self._current_class_qualname = self.scan.class_of_function.get(function_id)
            types: set[str | None] = set()
            for value in values:
                if value is None or (isinstance(value, cst.Name) and value.value == "None"):
                    continue
                types.add(self._returned_type(value, function_id))
            returned = types.pop() if len(types) == 1 else None
            if returned is not None:
                self.return_types[f"{self.module_name}.{qualname}"] = returned
                inferred = True
        return inferred

    def _returned_type(self, value: cst.BaseExpression, function_id: int) -> str | None:
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "cls":
            owner = self.scan.class_of_function.get(function_id)
            return f"{self.module_name}.{owner}" if owner is not None else None
        return self.instance_type_of(value)

    def _resolve_pending(self, pendings) -> None:
        for pending in pendings:
            self.function_stack = [pending.function] if pending.function is not None else []
            self._current_class_qualname = pending.class_qualname
            type_qn = self.instance_type_of(pending.value)
            if type_qn in _FIELD_FACTORIES:
                continue  # ``llm: BaseLLM = Field(...)``: the annotation says what it holds
            if type_qn is not None and type_qn not in _PARTIALS:
                self._bind(self._binding_table(pending, self.module_bindings, self.class_bindings,
                                               self.local_bindings), pending, type_qn)
                continue
            alias = self.callable_alias(pending.value)
            if alias is not None:
                self._bind(self._binding_table(pending, self.module_aliases, self.class_aliases,
                                               self.local_aliases), pending, alias)

    def _bind_parameters_from_callers(self) -> set[int]:
        """``llm_client = LLMClient(config)`` then ``run(prompt, llm_client)`` in the same module:
        ``run``'s parameter holds an ``LLMClient`` unless its annotation or a default says
        otherwise. Only this module's own functions and classes (their ``__init__``, as in
        ``return cls(llm)`` from a factory classmethod), called by name at statement level.
        Returns the ids of the functions given a parameter type."""
        typed: set[int] = set()
        for caller, call in self.scan.local_calls:
            assert isinstance(call.func, cst.Name)
            callee = self._called_function(call.func.value, caller)
            if callee is None or callee is caller:
                continue
            self.function_stack = [caller] if caller is not None else []
            self._current_class_qualname = None
            params = callee.params
            positional = [*params.posonly_params, *params.params]
            if callee.name.value == "__init__":
                positional = positional[1:]  # ``self``
            by_name = {p.name.value: p for p in (*positional, *params.kwonly_params)}
            table = self.local_bindings.setdefault(id(callee), {})
            index = 0
            for arg in call.args:
                if arg.star:
                    break
                if arg.keyword is not None:
                    param = by_name.get(arg.keyword.value)
                else:
                    param = positional[index] if index < len(positional) else None
                    index += 1
                if param is None or param.name.value in table:
                    continue
                type_qn = self.instance_type_of(arg.value)
                if type_qn is not None and type_qn not in _FIELD_FACTORIES and type_qn not in _PARTIALS:
                    table[param.name.value] = type_qn
                    typed.add(id(callee))
        return typed

    def _called_function(self, name: str, caller: cst.FunctionDef | None) -> cst.FunctionDef | None:
        """The function a call by ``name`` runs: a module function, or the ``__init__`` of a class
        of this module (``cls`` in a classmethod is its own class)."""
        function = self.scan.module_functions.get(name)
        if function is not None:
            return function
        owner = self.scan.class_of_function.get(id(caller)) if name == "cls" and caller is not None else (
            name if name in self.scan.classes else None)
        return self.scan.methods.get(owner, {}).get("__init__") if owner is not None else None

    @staticmethod
    def _binding_table(pending, module_table: dict, class_tables: dict, local_tables: dict) -> dict | None:
        """The table a binding belongs to: the class's for ``self.x`` and class attributes, the
        function's for locals, else the module's."""
        if pending.target.startswith("self."):
            if pending.class_qualname is None:
                return None
            return class_tables.setdefault(pending.class_qualname, {})
        if pending.function is not None:
            return local_tables.setdefault(id(pending.function), {})
        if pending.class_qualname is not None:
            return class_tables.setdefault(pending.class_qualname, {})
        return module_table

    def _bind(self, table: dict | None, pending, value: str) -> None:
        """Record a binding; a name bound in several places (the branches of an ``if``, a default
        then a configured value) keeps the binding that reaches a model: the union of what the
        name may hold, as far as the rules are concerned."""
        if table is None:
            return
        name = pending.target[5:] if pending.target.startswith("self.") else pending.target
        if isinstance(pending.value, cst.Dict):
            name += "[]"  # a dict of handlers: what ``name[key]`` holds
        existing = table.get(name)
        if existing is not None and self._strength(existing) > self._strength(value):
            return
        table[name] = value

    def _strength(self, value: str) -> int:
        """How much a binding tells the rules: a model call or client beats anything else."""
        from factorlint.engine.recognise.llm_names import match_llm_qualname

        if self.knowledge_client(value) is not None or match_llm_qualname(self.knowledge, value) is not None:
            return 2
        return 1

    def callable_alias(self, value: cst.BaseExpression) -> str | None:
        """What a name holds when it is bound to a callable rather than an instance: ``completion
        = client.chat.completions.create``, ``functools.partial(litellm.completion, ...)``,
        ``handler or acompletion``, ``a if fast else b``, a dict of handlers. Returns the
        callable's resolved name (the one reaching a model, of several), or None."""
        candidates = self._alias_candidates(value, 0)
        if not candidates:
            return None
        return max(candidates, key=self._strength)

    def _alias_candidates(self, value: cst.BaseExpression, depth: int) -> list[str]:
        if depth > 4:
            return []
        if isinstance(value, (cst.Name, cst.Attribute)):
            qn = self.qualname(value)
            if qn is None or qn.startswith("builtins.") or qn.endswith("()"):
                return []  # unknown, a builtin, or an instance (an instance is a type binding)
            return [qn]
        if isinstance(value, cst.BooleanOperation):
            return self._alias_candidates(value.left, depth + 1) + self._alias_candidates(value.right, depth + 1)
        if isinstance(value, cst.IfExp):
            return self._alias_candidates(value.body, depth + 1) + self._alias_candidates(value.orelse, depth + 1)
        if isinstance(value, cst.Call) and value.args and self.qualname(value.func) in _PARTIALS:
            return self._alias_candidates(value.args[0].value, depth + 1)
        if isinstance(value, cst.Dict) and depth == 0:
            found = []
            for element in value.elements[:64]:
                if isinstance(element, cst.DictElement):
                    found += self._alias_candidates(element.value, depth + 1)
            return found
        return []

    def annotation_type(self, annotation: cst.BaseExpression) -> str | None:
        """The type an annotation names, looking through Optional[...] and ``X | None``."""
        if isinstance(annotation, cst.SimpleString):
            return self._string_annotation_type(annotation)
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            for side in (annotation.left, annotation.right):
                if not (isinstance(side, cst.Name) and side.value == "None"):
                    return self.annotation_type(side)
            return None
        if isinstance(annotation, cst.Subscript):
            if self.qualname(annotation.value) in _OPTIONAL_WRAPPERS and annotation.slice:
                first = annotation.slice[0].slice
                if isinstance(first, cst.Index):
                    return self.annotation_type(first.value)
            return None
        qn = self.qualname(annotation)
        if qn is None or qn.startswith("builtins.") or qn.split(".", 1)[0] in _STDLIB:
            return None
        return qn

    def _string_annotation_type(self, annotation: cst.SimpleString) -> str | None:
        """A forward reference (``model: "Model"``, ``"llm.Model"``): the dotted name it spells,
        resolved like any name. Anything more than a dotted name is left alone."""
        text = annotation.value.strip("\"'")
        if text.endswith(" | None"):
            text = text[: -len(" | None")]
        parts = text.split(".")
        if not parts or not all(part.isidentifier() for part in parts):
            return None
        head = self._resolve_name(parts[0])
        if head is None or head.endswith("()"):
            return None
        qn = ".".join([head, *parts[1:]])
        if qn.startswith("builtins.") or qn.split(".", 1)[0] in _STDLIB:
            return None
        return qn


def _imported_by_name(cls: cst.ClassDef) -> str | None:
    """The one module a class imports by a string (``importlib.import_module("litellm")``,
    ``__import__("litellm")``), if it imports exactly one."""
    found: set[str] = set()
    for call in find_all(cls, cst.Call):
        name = dotted_name(call.func) or ""
        if name.rsplit(".", 1)[-1] in ("import_module", "__import__") and call.args:
            text = literal_string(call.args[0].value)
            if text:
                found.add(text)
    return found.pop() if len(found) == 1 else None
