"""The project's cross-file index: every file's facts bound together.

Which project functions reach a model (a fixpoint over the call graph, through imports,
re-exports, bindings, parameters typed by their callers and the class hierarchy, bounded by
``wrapper-depth``), which ask a person at the console, which names lead nowhere, and which
parameters are handed text the model chose by a caller in another file. Built once per run by
the project pass (:mod:`project_pass`), which reads it to keep or drop the findings and sites
that depended on it.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict

from factorlint.engine.recognise.llm_names import match_llm_qualname
from factorlint.knowledge import Knowledge
from factorlint.model import PARAMETER, STOPS, FileResult


class ProjectIndex:
    def __init__(self, results: list[FileResult], knowledge: Knowledge, settings) -> None:
        self.knowledge = knowledge
        self.functions = {}
        self.bindings: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.bases: dict[str, list[str]] = {}
        self.project_roots: set[str] = set()
        for result in results:
            facts = result.facts
            if facts is None:
                continue
            self.project_roots.add(facts.module.split(".", 1)[0])
            self.functions.update(facts.functions)
            self.bindings.update(facts.bindings)
            self.aliases.update(facts.aliases)
            self.bases.update(facts.classes)
        # A function whose file could not type its result returns what this call returns.
        self.returned_calls = {name: f.returns_call for name, f in self.functions.items() if f.returns_call}
        # The last part of every bound name: most names asked about end in none of them.
        self._bound_attributes = {name.rpartition(".")[2] for name in self.bindings}
        # The class hierarchy is fixed once every file's facts are in: answers are kept per class.
        self._related_memo: dict[tuple[str, bool], list[str]] = {}
        self._holders: tuple[frozenset[str] | None, set[str]] = (None, set())  # see leads_to
        self.subclasses: dict[str, list[str]] = defaultdict(list)
        for cls, bases in self.bases.items():
            for base in bases:
                self.subclasses[self._canonical(base)].append(cls)
        self._targets_memo: dict[tuple[str, bool], tuple[frozenset[str], bool]] = {}
        # Each name's rewrite, kept while the bindings and aliases stay as they are.
        self._rewrite_memo: dict[str, str | None] = {}
        self._bind_parameters(results)
        self._bind_tainted(results)
        patterns = tuple(getattr(settings, "llm_functions", ()) or ())
        self.llm_functions: set[str] = {
            name for name, f in self.functions.items()
            if f.calls_llm or any(fnmatch.fnmatchcase(name, p) for p in patterns)
        }
        # What each name a file calls stands for (project functions, or a model call), resolved
        # once per distinct name: the same callee strings recur across thousands of functions.
        self._targets_memo = {}
        depth = getattr(settings, "wrapper_depth", 10)
        self.depth = depth
        self._edges_memo: dict[str, frozenset[str]] = {}
        self._close(self.llm_functions, depth, always=False)
        # Functions that wait for a person at the console, directly or through project functions:
        # a loop that calls one each turn is a conversation, not a runaway.
        self.human_functions: set[str] = {name for name, f in self.functions.items() if f.asks_human}
        self._close(self.human_functions, depth, always=True)
        # Functions that may wait for a person, on some path (metagpt's ``ask_review`` asks
        # unless the planner runs in auto mode): enough when their answer alone ends a loop.
        self.maybe_human_functions: set[str] = set(self.human_functions)
        self._close(self.maybe_human_functions, depth, always=False, models=False)

    def awaited_functions(self) -> frozenset[str]:
        """The project functions one of whose parameters only a caller could type, where that
        type may decide what the project pass finds: no annotation, default or caller types it,
        and the function (or its class, through an attribute it was stored in) calls on it a
        member that may turn out to be a model call, one the tables name or one named as a
        project function that reaches a model or may wait for a person. aider's
        ``Coder.__init__(self, main_model)`` is one: ``self.main_model.send_completion(...)`` is
        its agent's model call, and only its tests pass a ``Model``."""
        members = set(self.knowledge.generating_names)
        members.update(name.rsplit(".", 1)[-1] for name in self.llm_functions | self.maybe_human_functions)
        awaited = set()
        for facts in self.functions.values():
            for callee in facts.callees:
                if callee.rsplit(".", 1)[-1] not in members:
                    continue
                slot = self._receiver_slot(callee)
                if slot is not None and slot not in self.bindings and slot not in self.aliases:
                    awaited.add(slot.split(PARAMETER, 1)[0])
        return frozenset(awaited)

    def _receiver_slot(self, callee: str) -> str | None:
        """The parameter ``callee`` calls a member of (``app.run.<param>.client`` for
        ``client.send(...)`` in ``app.run``, or through ``self.client`` when ``client`` was
        stored there), or None."""
        if PARAMETER in callee:
            function, rest = callee.split(PARAMETER, 1)
            name, dot, _ = rest.partition(".")
            return f"{function}{PARAMETER}{name}" if dot else None
        parts = callee.replace("().", ".").split(".")
        for end in range(len(parts) - 1, 0, -1):
            stored = self.aliases.get(".".join(parts[:end]))
            if stored is not None and PARAMETER in stored:
                function, rest = stored.split(PARAMETER, 1)
                return f"{function}{PARAMETER}{rest.partition('.')[0]}"
        return None

    def leads_to(self, names: list[str], functions: frozenset[str]) -> bool:
        """Whether a module importing ``names`` can call one of ``functions``: a name is one of
        them, or the class or module holding one, or a class inheriting from such a class."""
        if not functions:
            return False
        if self._holders[0] is not functions:  # asked once per waiting test: built once per set
            self._holders = (functions, {".".join(parts[:end]) for name in functions
                                         for parts in [name.split(".")] for end in range(1, len(parts) + 1)})
        holders = self._holders[1]
        for name in names:
            canonical = self._canonical(name)
            if any(related in holders for related in self._related_classes(canonical, overrides=False)):
                return True
        return False

    def _bind_parameters(self, results: list[FileResult]) -> None:
        """Type each untyped parameter by what a caller in any file passes in its place:
        ``execute_script(script, llm_client)`` makes ``execute_script``'s ``llm_client`` an
        ``LLMClient``, so its ``llm_client.get_python_package(...)`` reaches the model. The first
        caller (by path) that passes something known decides; a parameter passed on to another
        function carries its own binding along (resolved when names are rewritten)."""
        for result in sorted(results, key=lambda r: r.path):
            facts = result.facts
            if facts is None:
                continue
            for callee, key, value in facts.arguments:
                for slot in self._parameter_slots(callee, key):
                    if slot in self.bindings or slot in self.aliases or value.startswith(slot):
                        continue
                    if value.endswith("()"):
                        self.bindings[slot] = value[:-2]
                        self._bound_attributes.add(slot.rpartition(".")[2])
                    else:
                        self.aliases[slot] = value
                    self._rewrite_memo.clear()
        self._targets_memo.clear()  # answers given while the parameters were unbound

    def _parameter_slots(self, callee: str, place: str) -> list[str]:
        """``app.run.<param>.code`` for each function a call of ``callee`` runs, where ``place``
        (a position, ``"0"``, or a keyword) is filled."""
        slots = []
        for function in self._callee_functions(callee):
            params = self.functions[function].params
            if place.isdigit():
                positional = params[: params.index("*")] if "*" in params else params
                name = positional[int(place)] if int(place) < len(positional) else None
            else:
                name = place if place in params and place != "*" else None
            if name is not None:
                slots.append(f"{function}{PARAMETER}{name}")
        return slots

    def _bind_tainted(self, results: list[FileResult]) -> None:
        """Which parameters are handed text the model chose by a caller in another file
        (FileFacts.tainted), directly or passed on, as they are, from a parameter that is
        (FileFacts.arguments): ``execute_script(script)`` -> ``_run(script)`` -> ``exec``."""
        # slot -> (what the text is, the function it was handed to, wrappers that must reach a model)
        self.tainted_slots: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        handed: list[tuple[str, list[str]]] = []  # (a parameter, the slots it is passed on to)
        for result in sorted(results, key=lambda r: r.path):
            facts = result.facts
            if facts is None:
                continue
            for callee, place, label, requires in facts.tainted:
                for slot in self._parameter_slots(callee, place):
                    self.tainted_slots.setdefault(slot, (label, callee, tuple(filter(None, requires.split(",")))))
            for callee, place, value in facts.arguments:
                if PARAMETER in value and "." not in value.split(PARAMETER, 1)[1] and not value.endswith("()"):
                    handed.append((value, self._parameter_slots(callee, place)))
        for _ in range(8):  # a chain of helpers, a few deep
            changed = False
            for slot, targets in handed:
                origin = self.tainted_slots.get(slot)
                if origin is None:
                    continue
                for target in targets:
                    if target not in self.tainted_slots:
                        self.tainted_slots[target] = origin
                        changed = True
            if not changed:
                break

    def tainted_text(self, slot: str) -> str | None:
        """What the model chose that reaches parameter ``slot`` from a caller, or None."""
        found = self.tainted_slots.get(slot)
        if found is None:
            return None
        label, callee, requires = found
        if requires and not any(self.reaches_llm(q) for q in requires):
            return None
        short = callee.replace("()", "").rsplit(".", 1)[-1]
        return f"{label}, handed to `{short}()` from another module,"

    def _callee_functions(self, callee: str) -> list[str]:
        """The project functions a call by this name runs; a class runs its ``__init__``."""
        functions = sorted(self._targets(callee, overrides=False)[0])
        plain = self._canonical(callee.replace("().", "."))
        if not functions and plain in self.bases:
            for related in self._related_classes(plain, overrides=False):
                if f"{related}.__init__" in self.functions:
                    return [f"{related}.__init__"]
        return functions

    def _close(self, found: set[str], depth: int, always: bool, models: bool = True) -> None:
        """Add to ``found`` every function whose callees reach it, ``depth`` calls deep at most.

        For model calls (``always`` false) a callee reaches when it is a model call (unless
        ``models`` is false) or a function in ``found``, through any override; for a person
        (``always``) only the callees called on every path count, and only the method that
        certainly runs (no overrides)."""
        callers: dict[str, set[str]] = defaultdict(set)
        frontier = set(found)
        for name, facts in self.functions.items():
            for callee in facts.always_calls if always else facts.callees:
                functions, model = self._targets(callee, overrides=not always)
                if model and models and not always and name not in found:
                    found.add(name)
                    frontier.add(name)
                for target in functions:
                    callers[target].add(name)
        for _ in range(depth):
            added = {c for f in frontier for c in callers.get(f, ()) if c not in found}
            if not added:
                break
            found |= added
            frontier = added

    def _targets(self, qualname: str, *, overrides: bool) -> tuple[frozenset[str], bool]:
        """The project functions ``qualname`` may run and whether it is a model call itself,
        following bindings and re-exports (``app.Agent().ask`` -> ``app.Agent.ask`` and, with
        ``overrides``, the subclasses' ``ask``)."""
        key = (qualname, overrides)
        cached = self._targets_memo.get(key)
        if cached is not None:
            return cached
        functions: set[str] = set()
        model = False
        current: str | None = qualname
        for _ in range(7):
            if current is None:
                break
            plain = current.replace("().", ".")
            for name in (current, plain):
                if name in self.functions:
                    functions.add(name)
            if match_llm_qualname(self.knowledge, current) is not None:
                model = True
            if "." in plain:
                cls, _, member = plain.rpartition(".")
                cls = self._canonical(cls)
                if cls in self.bases:  # only project classes: never fan out from pydantic.BaseModel
                    for related in self._related_classes(cls, overrides):
                        if f"{related}.{member}" in self.functions:
                            functions.add(f"{related}.{member}")
            current = self._rewrite(current)
        result = (frozenset(functions), model)
        self._targets_memo[key] = result
        return result

    def _canonical(self, qualname: str, _depth: int = 0) -> str:
        """Follow re-exports: ``pkg.Agent`` imported in pkg/__init__.py from ``pkg.core``."""
        while qualname in self.aliases and self.aliases[qualname] != qualname and _depth < 8:
            qualname = self.aliases[qualname]
            _depth += 1
        return qualname

    def _related_classes(self, cls: str, overrides: bool = True) -> list[str]:
        """The class, its ancestors (inherited methods) and, with ``overrides``, its descendants
        (a method a subclass overrides may be the one that runs), no siblings."""
        key = (cls, overrides)
        found = self._related_memo.get(key)
        if found is None:
            found = self._related_memo[key] = self._walk_related(cls, overrides)
        return found

    def _walk_related(self, cls: str, overrides: bool) -> list[str]:
        related = [cls]
        graphs = [lambda c: [self._canonical(b) for b in self.bases.get(c, [])]]
        if overrides:
            graphs.append(lambda c: self.subclasses.get(c, []))
        for graph in graphs:
            todo = [cls]
            while todo and len(related) < 64:
                for nxt in graph(todo.pop()):
                    if nxt not in related:
                        related.append(nxt)
                        todo.append(nxt)
        return related

    def leads_back(self, requires_cycle: tuple[str, ...]) -> bool:
        """Does the callee of ``(callee, function)`` call ``function`` again through project
        functions (``wrapper-depth`` calls deep at most)? Only the methods that certainly run
        count: an override some subclass may have does not close a loop."""
        if len(requires_cycle) != 2:
            return False
        callee, function = requires_cycle
        frontier = set(self._targets(callee, overrides=False)[0])
        seen = set(frontier)
        for _ in range(self.depth):
            if function in frontier:
                return True
            frontier = {t for f in frontier for t in self._call_edges(f)} - seen
            if not frontier:
                return False
            seen |= frontier
        return function in frontier

    def _call_edges(self, name: str) -> frozenset[str]:
        edges = self._edges_memo.get(name)
        if edges is None:
            facts = self.functions.get(name)
            edges = frozenset(
                t for c in (facts.callees if facts is not None else ()) for t in self._targets(c, overrides=False)[0]
            )
            self._edges_memo[name] = edges
        return edges

    def reaches_llm(self, qualname: str) -> bool:
        """Is ``qualname`` (as resolved in some file) a model call or a project LLM function?"""
        functions, model = self._targets(qualname, overrides=True)
        return model or not functions.isdisjoint(self.llm_functions)

    def scrapes(self, entry: str) -> bool:
        """For ``callee|place|scrapes`` (or ``|parses``): does a function a call of ``callee``
        runs pull pieces out of (or turn into data) the parameter filled at ``place``?"""
        callee, place, what = entry.rsplit("|", 2)
        for slot in self._parameter_slots(callee, place):
            function, name = slot.rsplit(PARAMETER, 1)
            facts = self.functions[function]
            if name in (facts.parses if what == "parses" else facts.scrapes):
                return True
        return False

    def returns_no_free_text(self, qualname: str) -> bool:
        """Does every ``return`` of the project function ``qualname`` runs (the one that certainly
        runs) hand back a bool, a number or None, or a reply asked for with a schema or tools,
        rather than the model's free text?"""
        functions, model = self._targets(qualname, overrides=False)
        if model or not functions:
            return False
        # An inherited method is found with the override that hides it: the override runs.
        owners = {f: f.rpartition(".")[0] for f in functions}
        running = [
            f for f in functions
            if not any(g != f and owners[f] in self._related_classes(owners[g], overrides=False)[1:]
                       for g in functions)
        ]
        return all(self.functions[f].returns_kind for f in running)

    def dangling(self, qualnames: tuple[str, ...]) -> bool:
        """Is every name of ``qualnames`` one of the project's own (a parameter, a name in a
        project module) that leads nowhere: no project function, no model call? A library's
        ``parse`` or ``create`` is not the project's to name."""
        return all(
            q.split(".", 1)[0] in self.project_roots and self._targets(q, overrides=True) == (frozenset(), False)
            for q in qualnames
        )

    def is_model_call(self, qualname: str) -> bool:
        """Does ``qualname`` name a model call itself once names bound in other files are followed
        (``GenericLLMProvider.from_provider().llm.ainvoke`` -> ``ChatOpenAI().ainvoke``), rather
        than a project function that makes one?"""
        return self._targets(qualname, overrides=True)[1]

    def asks_human(self, qualname: str) -> bool:
        """Is ``qualname`` a project function that waits for a person at the console? Only the
        method that certainly runs counts: metagpt's ``HumanProvider`` overrides ``aask`` with
        ``input()``, which does not make every ``llm.aask`` a question to a person."""
        functions, _ = self._targets(qualname, overrides=False)
        return not functions.isdisjoint(self.human_functions)

    def person_decides(self, entry: str) -> bool:
        """Does a person decide how long the loop that lists ``entry`` runs? ``qualname``: it asks
        at the console on every path (:meth:`asks_human`). ``qualname|stops``: its answer alone
        ends the loop, and it may ask a person on some path."""
        name, stops, _ = entry.partition(STOPS)
        if not stops:
            return self.asks_human(name)
        functions, _ = self._targets(name, overrides=False)
        return not functions.isdisjoint(self.maybe_human_functions)

    def _binding(self, name: str) -> str | None:
        if name in self.bindings:
            return self.bindings[name]
        cls, _, attr = name.rpartition(".")
        if attr not in self._bound_attributes:
            return None  # no class binds an attribute of that name
        cls = self._canonical(cls)
        if cls in self.bases:
            for related in self._related_classes(cls):
                if f"{related}.{attr}" in self.bindings:
                    return self.bindings[f"{related}.{attr}"]
        return None

    def _rewrite(self, qualname: str) -> str | None:
        """Replace the longest prefix that is a bound name or a re-export by what it stands for."""
        memo = self._rewrite_memo
        if qualname in memo:
            return memo[qualname]
        found = memo[qualname] = self._rewrite_prefix(qualname)
        return found

    def _rewrite_prefix(self, qualname: str) -> str | None:
        parts = qualname.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            rest = ".".join(parts[cut:])
            bare = prefix[:-2] if prefix.endswith("()") else prefix
            bound = self._binding(bare.replace("().", "."))
            if bound is not None:
                head = bound + "()"
            elif bare in self.bindings:
                head = self.bindings[bare] + "()"
            elif bare in self.aliases and self.aliases[bare] != bare:
                head = self.aliases[bare] + ("()" if prefix.endswith("()") else "")
            elif "()." in bare and self.aliases.get(bare.replace("().", "."), bare) != bare:
                # ``Llm().completions`` where the class binds ``completions = fixed_completions``.
                head = self.aliases[bare.replace("().", ".")] + ("()" if prefix.endswith("()") else "")
            elif prefix.endswith("()") and bare.replace("().", ".") in self.returned_calls:
                head = self.returned_calls[bare.replace("().", ".")] + "()"
            else:
                continue
            return f"{head}.{rest}" if rest else head
        return None
