"""The facts a file contributes to the project pass, gathered during the batched visit."""

from __future__ import annotations

import libcst as cst

from factorlint.model import FileFacts, FunctionFacts


class FactsCollector:
    """Which functions make a model call, and what else they call (for the wrapper fixpoint)."""

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

    def visit_Call(self, node: cst.Call) -> None:
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
        elif llm.qualname not in current.callees:
            current.callees.append(llm.qualname)

    def result(self) -> FileFacts:
        return self.facts
