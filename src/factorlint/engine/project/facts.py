"""The facts a file contributes to the project pass, gathered during the batched visit."""

from __future__ import annotations

import libcst as cst

from factorlint.engine.agents.loops import CONSOLE_INPUTS
from factorlint.engine.read.file_roles import file_role
from factorlint.engine.recognise.llm_names import match_llm_qualname
from factorlint.engine.recognise.responses import tracker
from factorlint.engine.recognise.scrapers import scrape
from factorlint.engine.taint.analyser import analyser
from factorlint.model import PARAMETER, FileFacts, FunctionFacts

_CONSUMERS = frozenset(
    {"builtins.list", "builtins.tuple", "builtins.sorted", "builtins.set", "builtins.iter",
     "builtins.next", "builtins.enumerate"}
)

_NON_TEXT_BUILTINS = frozenset(
    {"builtins.bool", "builtins.int", "builtins.float", "builtins.len", "builtins.isinstance",
     "builtins.any", "builtins.all"}
)


class FactsCollector:
    """Which functions make a model call or ask a person at the console, and what else they call
    (for the project pass's fixpoints)."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.facts = FileFacts(module=ctx.module_name, relevant=ctx.relevant)
        self.facts.imports = sorted(set(ctx.scan.imported_modules))
        prefix = ctx.module_name + "."
        self.facts.bindings = {prefix + name: qn for name, qn in ctx.module_bindings.items()}
        self.facts.aliases = {prefix + name: qn for name, qn in ctx.imports.items()}
        # Module-level names and class attributes bound to a callable (``completion =
        # client.chat.completions.create``): another module's call of them is resolved the same way.
        self.facts.aliases.update({prefix + name: qn for name, qn in ctx.module_aliases.items()})
        for class_qualname, attrs in ctx.class_aliases.items():
            for attr, qn in attrs.items():
                self.facts.aliases[f"{prefix}{class_qualname}.{attr}"] = qn
        # A function's annotated return type stands for its result: ``get_client() -> OpenAI``.
        self.facts.bindings.update(ctx.return_types)
        for class_qualname, attrs in ctx.class_bindings.items():
            for attr, type_qn in attrs.items():
                self.facts.bindings[f"{prefix}{class_qualname}.{attr}"] = type_qn
        self.facts.classes = ctx.class_bases_resolved()
        self._branches: list[int] = []  # per enclosing function: the ifs and loops around us
        # id(function) -> the callee each of its ``return``s hands back (None: something else)
        self._returned: dict[int, set[str | None]] = {}
        # id(function) -> whether each of its ``return``s hands back a bool, a number or None
        self._non_text: dict[int, list[bool]] = {}
        self._parsing: set[str] = set()  # functions that call a parser (``json.loads``)

    def _current(self) -> FunctionFacts | None:
        if not self.ctx.function_stack:
            return None
        function = self.ctx.function_stack[-1]
        qualname = self.ctx.function_qualname(function)
        facts = self.facts.functions.get(qualname)
        if facts is None:
            facts = FunctionFacts(qualname=qualname, line=0)
            self.facts.functions[qualname] = facts
        return facts

    # A console prompt counts only where the function always reaches it: rawdog's "install this
    # package?" asked when a script fails on a missing module does not make its caller a REPL.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._branches.append(0)
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        if params and id(node) in self.ctx.scan.class_of_function and not any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in node.decorators
        ):
            params = params[1:]  # ``self`` or ``cls``
        keyword_only = [p.name.value for p in node.params.kwonly_params]
        if params or keyword_only:
            qualname = self.ctx.function_qualname(node)
            facts = self.facts.functions.setdefault(qualname, FunctionFacts(qualname=qualname, line=0))
            facts.params = [*params, "*", *keyword_only] if keyword_only else params

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._branches.pop()
        qualname = self.ctx.function_qualname(node)
        returned = self._returned.pop(id(node), set())
        if len(returned) == 1 and None not in returned:
            facts = self.facts.functions.setdefault(qualname, FunctionFacts(qualname=qualname, line=0))
            facts.returns_call = returned.pop() or ""
        if qualname in self._parsing and qualname in self.facts.functions:
            facts = self.facts.functions[qualname]
            facts.parses = list(dict.fromkeys([*facts.parses, *facts.scrapes]))  # a match, then json.loads
        non_text = self._non_text.pop(id(node), [])
        kind = ""
        if non_text and all(non_text) and not self.ctx.flow(node).yields:
            kind = "value"
        else:
            known = self.facts.functions.get(qualname)
            if known is not None and known.calls_llm:
                # The reply this function hands back, when it asked for a schema or tools.
                origin = tracker(self.ctx).wrapper_origin(qualname)
                if origin is not None and origin.mode in ("structured", "tools"):
                    kind = "structured"
        if kind:
            facts = self.facts.functions.setdefault(qualname, FunctionFacts(qualname=qualname, line=0))
            facts.returns_kind = kind

    # A factory whose result's type its file cannot name (``return conversation.chain(...)``, a
    # method of a class in another module) hands back what that call returns: the project pass
    # follows it, as it follows an annotated return type.
    def visit_Return(self, node: cst.Return) -> None:
        if not self.ctx.function_stack or node.value is None:
            return
        value = node.value
        if isinstance(value, cst.Name) and value.value == "None":
            return
        function = self.ctx.function_stack[-1]
        self._non_text.setdefault(id(function), []).append(self._is_non_text(value, 0))
        if self.ctx.function_qualname(function) in self.ctx.return_types:
            return
        self._returned.setdefault(id(function), set()).add(self._returned_callee(value))

    def _is_non_text(self, value: cst.BaseExpression, depth: int) -> bool:
        """Is ``value`` certainly a bool, a number or None: a literal, a comparison, ``not``, a
        conditional of such, or a local bound only to such (``result = True if output == "yes"
        else False``)?"""
        if isinstance(value, cst.Name):
            if value.value in ("True", "False", "None"):
                return True
            bound = self.ctx.current_flow().bindings.get(value.value, [])
            return depth < 3 and bool(bound) and all(
                kind == "value" and v is not None and self._is_non_text(v, depth + 1) for kind, v in bound
            )
        if isinstance(value, (cst.Integer, cst.Float, cst.Comparison)):
            return True
        if isinstance(value, cst.UnaryOperation):
            return isinstance(value.operator, cst.Not) or isinstance(value.expression, (cst.Integer, cst.Float))
        if isinstance(value, cst.IfExp):
            return self._is_non_text(value.body, depth) and self._is_non_text(value.orelse, depth)
        if isinstance(value, cst.BooleanOperation):
            return self._is_non_text(value.left, depth) and self._is_non_text(value.right, depth)
        if isinstance(value, cst.Call):
            return (self.ctx.qualname(value.func) or "") in _NON_TEXT_BUILTINS
        return False

    def _returned_callee(self, value: cst.BaseExpression) -> str | None:
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Name):
            bound = self.ctx.current_flow().bindings.get(value.value, [])
            values = {v for kind, v in bound if kind == "value" and isinstance(v, (cst.Call, cst.Await))}
            if len(values) != len(bound) or len(values) != 1:
                return None
            value = values.pop()
            if isinstance(value, cst.Await):
                value = value.expression
        if not isinstance(value, cst.Call):
            return None
        callee = self.ctx.qualname(value.func)
        if callee is None or PARAMETER in callee or not self.ctx.is_project_candidate(callee):
            return None
        return callee

    def _scraped_parameter(self, node: cst.Call) -> None:
        """``re.search(pattern, text)`` on the function's own parameter ``text``."""
        if not self.ctx.function_stack:
            return
        found = scrape(self.ctx, node)
        if found is None:
            return
        current = self._current()
        if current is None:
            return
        if found.is_parser:
            self._parsing.add(current.qualname)
        if isinstance(found.operand, cst.Name) and found.operand.value in current.params:
            name = found.operand.value
            if name not in current.scrapes:
                current.scrapes.append(name)
            if found.is_parser and name not in current.parses:
                current.parses.append(name)

    def _enter_branch(self, node: cst.CSTNode) -> None:
        if self._branches:
            self._branches[-1] += 1

    def _leave_branch(self, node: cst.CSTNode) -> None:
        if self._branches:
            self._branches[-1] -= 1

    # A ``while`` counts as taken: ``while not response: response = prompt_input(...)`` is how a
    # prompt is asked until answered. A ``for`` may have nothing to iterate.
    visit_If = visit_IfExp = visit_ExceptHandler = _enter_branch
    visit_Match = visit_BooleanOperation = _enter_branch
    leave_If = leave_IfExp = leave_For = leave_ExceptHandler = _leave_branch
    leave_Match = leave_BooleanOperation = _leave_branch

    def visit_Call(self, node: cst.Call) -> None:
        self._scraped_parameter(node)
        if (self.ctx.qualname(node.func) or "") in CONSOLE_INPUTS:
            current = self._current()
            if current is not None and self._branches and self._branches[-1] == 0:
                current.asks_human = True
            return
        self._passed_callables(node)
        self._arguments(node)
        if node.args and (self.ctx.qualname(node.func) or "") in _CONSUMERS:
            self._iterated(node.args[0].value, asynchronous=False)
        llm = self.ctx.recognise.llm_call(node)
        if llm is None:
            return
        if llm.certain:
            self.facts.llm_call_count += 1
        current = self._current()
        if current is None:
            return
        if llm.certain:
            current.calls_llm = True
            return
        if llm.qualname not in current.callees:
            current.callees.append(llm.qualname)
        if self._branches and self._branches[-1] == 0 and llm.qualname not in current.always_calls:
            current.always_calls.append(llm.qualname)

    # Iterating an object runs its ``__iter__``: llm's ``Response`` calls the model only when it is
    # iterated (``list(self)``, ``for chunk in response``).
    def visit_For(self, node: cst.For) -> None:
        self._enter_branch(node)
        self._iterated(node.iter, asynchronous=node.asynchronous is not None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._iterated(node.iter, asynchronous=node.asynchronous is not None)

    def _iterated(self, value: cst.BaseExpression, *, asynchronous: bool) -> None:
        if isinstance(value, cst.Name) and value.value == "self":
            owner = self.ctx.current_class_qualname()
            cls = f"{self.ctx.module_name}.{owner}" if owner else None
        else:
            qualname = self.ctx.qualname(value)
            cls = qualname[:-2] if qualname and qualname.endswith("()") else None
        if cls is None or not self.ctx.is_project_candidate(cls):
            return
        current = self._current()
        if current is None:
            return
        for method in ("__aiter__", "__anext__") if asynchronous else ("__iter__", "__next__"):
            if f"{cls}.{method}" not in current.callees:
                current.callees.append(f"{cls}.{method}")

    def _passed_callables(self, node: cst.Call) -> None:
        """A function handed to another (``recover(generate, log)``, ``pool.submit(step)``, or in
        a tuple of arguments: ``Thread(target=ctx.run, args=(step,))``) may be called by it: the
        caller counts as calling it, as call graphs treat callbacks."""
        current = None
        values: list[cst.BaseExpression] = []
        for arg in node.args:
            if isinstance(arg.value, (cst.Tuple, cst.List)):
                values.extend(element.value for element in arg.value.elements[:8])
            else:
                values.append(arg.value)
        for value in values:
            if not isinstance(value, (cst.Name, cst.Attribute)):
                continue
            qualname = self.ctx.qualname(value)
            # ``...()`` is an instance handed over, not a callable; the caller's own parameter handed
            # on is bound in the callee by the project pass (FileFacts.arguments).
            if (
                qualname is None
                or qualname.endswith("()")
                or PARAMETER in qualname
                or not self.ctx.is_project_candidate(qualname)
            ):
                continue
            current = current or self._current()
            if current is not None and qualname not in current.callees:
                current.callees.append(qualname)

    def _arguments(self, node: cst.Call) -> None:
        """What a call of a project function passes: the project pass types the callee's
        parameters with it (``execute_script(script, llm_client)`` from another module)."""
        if not node.args:
            return
        callee = self.ctx.qualname(node.func)
        if callee is None or callee.endswith("()") or not self.ctx.is_project_candidate(callee):
            return
        for position, arg in enumerate(node.args):
            if arg.star:
                break  # the places after ``*args`` are unknown
            value = self._argument_value(arg.value)
            if value is not None:
                key = arg.keyword.value if arg.keyword is not None else str(position)
                self.facts.arguments.append((callee, key, value))

    def _argument_value(self, value: cst.BaseExpression) -> str | None:
        """An argument the project pass can use: an instance of a project or framework class
        (``X()``), a project function, a model function, or the caller's own parameter."""
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Name) and value.value == "self":
            # ``respond(self)`` in a method: an instance of the method's class.
            owner = self.ctx.current_class_qualname()
            return f"{self.ctx.module_name}.{owner}()" if owner is not None else None
        if isinstance(value, (cst.Name, cst.Attribute)):
            qualname = self.ctx.qualname(value)
        elif isinstance(value, cst.Call):
            type_qn = self.ctx.instance_type_of(value)
            qualname = type_qn + "()" if type_qn is not None else None
        else:
            return None
        if qualname is None or qualname.startswith("builtins."):
            return None
        named = qualname[:-2] if qualname.endswith("()") else qualname
        if self.ctx.is_project_candidate(named) or self.ctx.knowledge.is_framework_module(named):
            return qualname
        return qualname if match_llm_qualname(self.ctx.knowledge, qualname) is not None else None

    def result(self) -> FileFacts:
        """The facts, once the walk is over (the taint analysis has seen every call by then)."""
        if file_role(self.ctx.path) == "app":  # what tests and examples hand over is no attack path
            self.facts.tainted = analyser(self.ctx).tainted_arguments()
        return self.facts
