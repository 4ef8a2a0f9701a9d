"""The byte prefilter: files nothing agent-related can reach are not parsed by LibCST.

A file is analysed when its text imports a model or agent framework, imports a module of the
scanned project (through which a wrapper around a model may reach it), makes a relative import,
carries a suppression comment, asks a person at the console, runs code or commands (where a model's
text handed over from another module may end up), or holds something the security rules look for in any file (a
secret's format, a credential keyword, a hand-written tool schema). Everything else (most of a
large repository's utilities and tests of unrelated code) is only checked to parse, with the
standard library's parser, so a syntax error is still reported and nothing is silently lost.

Test and example code outside ``check-test-code`` is judged only by the rules that run on any
code (``file_roles.ON_TEST_CODE``) and listed by the audit for what it builds: it is analysed whole
when it imports something the tables say a program builds with (:func:`builds_with_framework`),
or is an example that imports the project. Test code one of those rules may report in
(``Rule.may_report``) is read for the rules and its facts. A test that imports the project is
read for its facts (what it hands the project's functions) only when the project needs them
(:func:`project_names` says what it imports; ``api._settle_test_facts`` decides). Else it is not
parsed by LibCST at all.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator

from factorlint.engine.read.module_names import absolute_module
from factorlint.engine.read.secret_formats import has_key_format

_ALWAYS = ("factorlint", "noqa", "input_schema", '"parameters"', "'parameters'", "__import__", "import_module")
# A console prompt makes the loops that reach it conversations (see engine.loops), even from a
# module that imports nothing of the project: ``input(``, ``getpass``, ``click.prompt(``, ``.ask(``.
# Each pattern is searched only in a text that holds its literal part.
_CONSOLE = (
    ("input(", r"\binput\("), ("getpass", r"\bgetpass\b"), ("prompt(", r"\bprompt\("), (".ask(", r"\.ask\("),
    ("readline(", r"\breadline\("),
)
# A module that runs code or commands may be where a model's text ends up, handed over from a
# module that calls the model (the project pass follows the argument): ``exec(``, ``subprocess``.
_RUNS_CODE = (
    ("exec(", r"\bexec\("), ("eval(", r"\beval\("), ("subprocess", r"\bsubprocess\b"),
    ("os.system(", r"\bos\.system\("), ("os.popen(", r"\bos\.popen\("),
)


def _imports(roots, relative: bool) -> str:
    names = "|".join(re.escape(r) for r in sorted(roots)) or "(?!)"
    dot = r"\.|" if relative else ""
    return (
        rf"^[ \t]*from[ \t]+(?:{dot}(?:{names})\b)"  # from openai import ..., from . import llm
        rf"|^[ \t]*import[ \t][^\n#;]*\b(?:{names})\b"  # import os, openai as oa
    )


class _Triggers:
    """What makes a file matter, searched one kind at a time, cheapest first. One alternation of
    them all was several times slower: the regular-expression engine tried every kind at every
    position, for lack of a literal to look for first."""

    def __init__(self, knowledge, project_roots: frozenset) -> None:
        self.imports = re.compile(_imports(set(knowledge._package_roots) | set(project_roots), relative=True), re.M)
        self.guarded = tuple((literal, re.compile(pattern)) for literal, pattern in (*_CONSOLE, *_RUNS_CODE))
        # Credential keywords in any case (``OPENAI_API_KEY = "..."`` holds ``api_key``): looked
        # for in the lower-cased text, which for ASCII text is what a case-insensitive search
        # finds. Other text goes to the search, whose case folding also pairs some non-ASCII
        # letters with ASCII ones (the Kelvin sign with ``k``).
        words = sorted(knowledge.credential_keywords)
        self.words = tuple(w.lower() for w in words) if all(w.isascii() for w in words) else None
        self.words_search = re.compile("(?i:" + "|".join(re.escape(w) for w in words) + ")") if words else None
        self.knowledge = knowledge

    def found_in(self, text: str) -> bool:
        if self.imports.search(text) is not None or any(literal in text for literal in _ALWAYS):
            return True
        if any(literal in text and pattern.search(text) is not None for literal, pattern in self.guarded):
            return True
        if self.words_search is not None:
            if self.words is not None:
                lowered = text.lower()
                if any(word in lowered for word in self.words):
                    return True
            if (self.words is None or not text.isascii()) and self.words_search.search(text) is not None:
                return True
        return has_key_format(text, self.knowledge)


@functools.lru_cache(maxsize=8)
def _triggers(knowledge, project_roots: frozenset) -> _Triggers:
    return _Triggers(knowledge, project_roots)


def could_matter(text: str, knowledge, settings) -> bool:
    """Could any rule report something in this file, or could it reach agent code elsewhere?"""
    if settings.llm_functions:
        return True  # configured wrapper names can be called from anywhere
    return _triggers(knowledge, frozenset(settings.project_roots)).found_in(text)


@functools.lru_cache(maxsize=8)
def _framework_imports(knowledge) -> re.Pattern:
    return re.compile(_imports(knowledge._package_roots, relative=False), re.M)


@functools.lru_cache(maxsize=8)
def _project_imports(project_roots: frozenset) -> re.Pattern:
    return re.compile(_imports(project_roots, relative=True), re.M)


def imports_project(text: str, settings) -> bool:
    """Does this module import the scanned project (by name, or relatively)? Then the project
    pass reads what it hands the project's functions (a test's ``Coder(Model(...))`` types the
    parameter the application leaves untyped)."""
    return _project_imports(frozenset(settings.project_roots)).search(text) is not None


def builds_with_framework(text: str, tree, knowledge) -> bool:
    """Does this module import something the tables say a program builds or calls with: a model
    client, an agent, a graph, a tool decorator (:meth:`Knowledge.names_something_built`)?
    What test and example code builds with one is what the audit lists of it; a test that only
    imports a library's data types, or only calls the project's own functions, exercises agents
    listed where they are written. Without CPython's tree (text it cannot parse), any import of
    a package the tables know counts."""
    if tree is None:
        return _framework_imports(knowledge).search(text) is not None
    return any(knowledge.names_something_built(name) for name in _imported_names(tree))


# The statement lists an import may sit in: a test imports inside functions and ``try`` blocks too.
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _imported_names(tree: ast.Module, package: str | None = None) -> Iterator[str]:
    """The qualified names a module's imports bring in: ``import a.b`` brings in all of ``a``
    (its attributes are reachable through the name it binds). A relative import is resolved
    against ``package`` (the importing module's package) as the engine resolves it, and left
    out without one: it names the project's own modules, never a library's."""
    stack: list = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name if alias.asname else alias.name.split(".", 1)[0]
        elif isinstance(node, ast.ImportFrom):
            module = node.module if not node.level else None if package is None else (
                absolute_module(node.module, node.level, package))
            if module:
                for alias in node.names:
                    yield module if alias.name == "*" else f"{module}.{alias.name}"
        elif not isinstance(node, ast.expr):
            for field in _BODIES:
                stack.extend(getattr(node, field, ()))


def project_names(tree: ast.Module, package: str, settings) -> list[str]:
    """The names of the scanned project a module imports (``app.coder.Coder``), sorted."""
    roots = settings.project_roots
    return sorted({name for name in _imported_names(tree, package) if name.split(".", 1)[0] in roots})
