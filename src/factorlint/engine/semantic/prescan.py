"""A shallow walk over statements (never into expressions) that finds what names mean.

It collects the import-alias map, what each module-level name, local variable, parameter and
``self`` attribute is bound to, and which functions and classes the module defines. It runs before
the rules' batched visit so that a client bound at the bottom of a module, or in ``__init__``
after the method that uses it, is still known. Statements are about a tenth of a module's nodes,
so this costs far less than a second full visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.parse.walk import find_all, statement_blocks
from factorlint.engine.semantic.names import dotted_name, resolve_relative

Scope = cst.FunctionDef | None


@dataclass
class PendingBinding:
    """``target = value`` to be typed once every import is known."""

    target: str  # a plain name, or "self.<attr>"
    value: cst.BaseExpression
    function: cst.FunctionDef | None
    class_qualname: str | None


@dataclass
class Prescan:
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    imported_modules: list[str] = field(default_factory=list)
    module_functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)  # qualname (in module) -> node
    methods: dict[str, dict[str, cst.FunctionDef]] = field(default_factory=dict)  # class -> name -> def
    class_bases: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    class_of_function: dict[int, str] = field(default_factory=dict)  # id(def) -> class qualname
    function_qualnames: dict[int, str] = field(default_factory=dict)  # id(def) -> qualname in module
    # id(def) -> the functions defined in its body: name -> qualname in module (``f.<locals>.g``)
    local_functions: dict[int, dict[str, str]] = field(default_factory=dict)
    nested_functions: dict[str, cst.FunctionDef] = field(default_factory=dict)  # ``f.<locals>.g``
    nested_by_id: dict[int, cst.FunctionDef] = field(default_factory=dict)
    pending: list[PendingBinding] = field(default_factory=list)
    annotations: list[tuple[cst.FunctionDef, str, cst.BaseExpression]] = field(default_factory=list)
    # ``llm: ChatOpenAI`` in a class body, ``self.llm: ChatOpenAI = ...``: (class, attr, annotation)
    attribute_annotations: list[tuple[str, str, cst.BaseExpression]] = field(default_factory=list)
    returns: dict[int, cst.BaseExpression] = field(default_factory=dict)  # id(def) -> annotation
    # id(def) -> what its ``return`` statements return (None for a bare ``return``)
    return_values: dict[int, list[cst.BaseExpression | None]] = field(default_factory=dict)
    properties: set[int] = field(default_factory=set)  # id(def) of @property methods
    module_constants: dict[str, cst.BaseExpression] = field(default_factory=dict)  # NAME -> value
    module_assigned: set[str] = field(default_factory=set)
    # Statement-level calls of this module's own functions (``run(prompt, client)``, ``x =
    # run(...)``, ``return run(...)``) with the function they stand in: what the caller passes
    # types the callee's parameters when nothing else does.
    local_calls: list[tuple[cst.FunctionDef | None, cst.Call]] = field(default_factory=list)
    # id(a use of ``x`` or ``self.x`` in the body of an ``if isinstance(x, C):`` branch) -> C: there
    # the name holds a C, whatever its declared type (``isinstance(self.model, KeyModel)``).
    narrowed: dict[int, cst.BaseExpression] = field(default_factory=dict)
    # id(def) -> the names local to it (parameters, assignment and loop targets, ``global`` names
    # left out): such a name never means a module function of the same name.
    local_names: dict[int, set[str]] = field(default_factory=dict)
    global_names: dict[int, set[str]] = field(default_factory=dict)  # while a def is scanned
    parameters: dict[int, set[str]] = field(default_factory=dict)  # id(def) -> its parameter names


def prescan(module: cst.Module, package: str) -> Prescan:
    result = Prescan()
    _scan_block(module.body, result, package, None, None, "")
    return result


def _scan_block(
    statements,
    out: Prescan,
    package: str,
    function: cst.FunctionDef | None,
    class_qualname: str | None,
    prefix: str,
) -> None:
    for stmt in statements:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _scan_small(small, out, package, function, class_qualname)
        elif isinstance(stmt, cst.FunctionDef):
            if function is not None and prefix.endswith(".<locals>."):
                out.local_functions.setdefault(id(function), {})[stmt.name.value] = prefix + stmt.name.value
                out.nested_functions[prefix + stmt.name.value] = stmt
                out.nested_by_id[id(stmt)] = stmt
            _scan_function(stmt, out, package, class_qualname, prefix)
        elif isinstance(stmt, cst.ClassDef):
            qualname = prefix + stmt.name.value
            out.classes[qualname] = stmt
            out.methods.setdefault(qualname, {})
            out.class_bases[qualname] = [arg.value for arg in stmt.bases]
            _scan_block(_body_of(stmt), out, package, None, qualname, qualname + ".")
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    if function is not None:
                        _add_locals(item.asname.name, out, function)
                    out.pending.append(
                        PendingBinding(item.asname.name.value, item.item, function, class_qualname)
                    )
            _scan_block(_body_of(stmt), out, package, function, class_qualname, prefix)
        else:
            if isinstance(stmt, cst.If):
                _record_narrowings(stmt, out)
            elif isinstance(stmt, cst.For) and function is not None:
                _add_locals(stmt.target, out, function)
            for block in _blocks_of(stmt):
                _scan_block(block, out, package, function, class_qualname, prefix)


def _scan_function(stmt, out: Prescan, package, class_qualname, prefix) -> None:
    qualname = prefix + stmt.name.value
    out.function_qualnames[id(stmt)] = qualname
    if class_qualname is not None and prefix == class_qualname + ".":
        out.methods[class_qualname][stmt.name.value] = stmt
        out.class_of_function[id(stmt)] = class_qualname
    elif not prefix:
        out.module_functions[stmt.name.value] = stmt
    if stmt.returns is not None:
        out.returns[id(stmt)] = stmt.returns.annotation
    for decorator in stmt.decorators:
        if (isinstance(decorator.decorator, cst.Name) and decorator.decorator.value in (
            "property", "cached_property"
        )) or (
            isinstance(decorator.decorator, cst.Attribute)
            and decorator.decorator.attr.value == "cached_property"
        ):
            out.properties.add(id(stmt))
    params = stmt.params
    local = out.local_names.setdefault(id(stmt), set())
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            local.add(star.name.value)
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        local.add(param.name.value)
        if param.annotation is not None:
            out.annotations.append((stmt, param.name.value, param.annotation.annotation))
        if param.default is not None and not (
            isinstance(param.default, cst.Name) and param.default.value == "None"
        ):
            # ``def ask(messages, complete=litellm.completion)``: the default is what the name
            # holds when the caller passes nothing.
            out.pending.append(PendingBinding(param.name.value, param.default, stmt, None))
    out.parameters[id(stmt)] = set(local)
    inner_class = out.class_of_function.get(id(stmt))
    _scan_block(_body_of(stmt), out, package, stmt, inner_class, qualname + ".<locals>.")
    local -= out.global_names.pop(id(stmt), set())


def _local_call(value, out: Prescan, function) -> None:
    if isinstance(value, cst.Await):
        value = value.expression
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
        out.local_calls.append((function, value))


def _add_locals(target: cst.BaseExpression, out: Prescan, function: cst.FunctionDef) -> None:
    """The plain names an assignment or loop target binds in ``function``."""
    if isinstance(target, cst.Name):
        out.local_names.setdefault(id(function), set()).add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _add_locals(element.value, out, function)
    elif isinstance(target, cst.StarredElement):
        _add_locals(target.value, out, function)


def _scan_small(small, out: Prescan, package, function, class_qualname) -> None:
    if function is not None:
        if isinstance(small, cst.Assign):
            for assign_target in small.targets:
                _add_locals(assign_target.target, out, function)
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            _add_locals(small.target, out, function)
        elif isinstance(small, cst.Global):
            out.global_names.setdefault(id(function), set()).update(n.name.value for n in small.names)
    if isinstance(small, cst.Return) and function is not None:
        out.return_values.setdefault(id(function), []).append(small.value)
    if isinstance(small, (cst.Expr, cst.Return)) and small.value is not None:
        _local_call(small.value, out, function)
        return
    if isinstance(small, cst.Assign):
        _local_call(small.value, out, function)
    if isinstance(small, cst.Import):
        for alias in small.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            out.imported_modules.append(full)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                out.imports[alias.asname.name.value] = full
            else:
                head = full.split(".", 1)[0]
                out.imports.setdefault(head, head)
    elif isinstance(small, cst.ImportFrom):
        base = resolve_relative(small, package)
        if base is None:
            return
        out.imported_modules.append(base)
        if isinstance(small.names, cst.ImportStar):
            return
        for alias in small.names:
            name = dotted_name(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            out.imports[local] = f"{base}.{name}" if base else name
    elif isinstance(small, (cst.Assign, cst.AnnAssign)):
        if isinstance(small, cst.AnnAssign) and class_qualname is not None:
            name = _target_name(small.target)
            if name is not None and (function is None or name.startswith("self.")):
                attr = name[5:] if name.startswith("self.") else name
                out.attribute_annotations.append((class_qualname, attr, small.annotation.annotation))
        value = small.value
        if value is None:
            return
        targets = (
            [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
        )
        for target in targets:
            name = _target_name(target)
            if name is None:
                continue
            if function is None and "." not in name:
                out.module_assigned.add(name)
                if class_qualname is None:
                    out.module_constants[name] = value
            out.pending.append(PendingBinding(name, value, function, class_qualname))


def _record_narrowings(stmt: cst.If, out: Prescan) -> None:
    """``if isinstance(x, C):`` and each ``elif isinstance(x, D):`` of the chain."""
    branch: cst.If | cst.Else | None = stmt
    while isinstance(branch, cst.If):
        narrowed = _isinstance_tests(branch.test)
        if narrowed:
            for use in find_all(branch.body, (cst.Name, cst.Attribute)):
                kind = narrowed.get(_target_name(use) or "")
                if kind is not None:
                    out.narrowed[id(use)] = kind  # an inner branch, recorded later, wins
        branch = branch.orelse


def _isinstance_tests(test: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """The names an ``isinstance`` test (alone or joined by ``and``) pins to one class."""
    if isinstance(test, cst.BooleanOperation):
        if not isinstance(test.operator, cst.And):
            return {}
        return {**_isinstance_tests(test.left), **_isinstance_tests(test.right)}
    if not (
        isinstance(test, cst.Call)
        and isinstance(test.func, cst.Name)
        and test.func.value == "isinstance"
        and len(test.args) == 2
        and all(arg.keyword is None and not arg.star for arg in test.args)
    ):
        return {}
    name = _target_name(test.args[0].value)
    kind = test.args[1].value
    if name is None or not isinstance(kind, (cst.Name, cst.Attribute)):
        return {}  # a tuple of classes pins nothing
    return {name: kind}


def _target_name(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == "self"
    ):
        return "self." + target.attr.value
    return None


def _body_of(stmt) -> tuple:
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return tuple(body.body)
    if isinstance(body, cst.SimpleStatementSuite):
        return (cst.SimpleStatementLine(body=body.body),)
    return ()


def _blocks_of(stmt) -> list[tuple]:
    return statement_blocks(stmt, _body_of)
