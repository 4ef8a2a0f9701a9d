"""The byte prefilter: files nothing agent-related can reach are not parsed by LibCST.

A file is analysed when its text imports a model or agent framework, imports a module of the
scanned project (through which a wrapper around a model may reach it), makes a relative import,
carries a suppression comment, asks a person at the console, runs code or commands (where a model's
text handed over from another module may end up), or holds something the security rules look for in any file (a
secret's format, a credential keyword, a hand-written tool schema). Everything else (most of a
large repository's utilities and tests of unrelated code) is only checked to parse, with the
standard library's parser, so a syntax error is still reported and nothing is silently lost.
"""

from __future__ import annotations

import functools
import re

_ALWAYS = ("factorlint", "noqa", "input_schema", '"parameters"', "'parameters'", "__import__", "import_module")
# A console prompt makes the loops that reach it conversations (see engine.loops), even from a
# module that imports nothing of the project: ``input(``, ``getpass``, ``click.prompt(``, ``.ask(``.
_CONSOLE = (r"\binput\(", r"\bgetpass\b", r"\bprompt\(", r"\.ask\(", r"\breadline\(")
# A module that runs code or commands may be where a model's text ends up, handed over from a
# module that calls the model (the project pass follows the argument): ``exec(``, ``subprocess``.
_RUNS_CODE = (r"\bexec\(", r"\beval\(", r"\bsubprocess\b", r"\bos\.system\(", r"\bos\.popen\(")


@functools.lru_cache(maxsize=8)
def _triggers(knowledge, project_roots: frozenset) -> re.Pattern:
    roots = sorted(set(knowledge._package_roots) | set(project_roots))
    names = "|".join(re.escape(r) for r in roots) or "(?!)"
    imports = (
        rf"^[ \t]*from[ \t]+(?:\.|(?:{names})\b)"  # from openai import ..., from . import llm
        rf"|^[ \t]*import[ \t][^\n#;]*\b(?:{names})\b"  # import os, openai as oa
    )
    secrets = [spec.pattern for spec in knowledge.secret_patterns]
    # Credential keywords in any case (``OPENAI_API_KEY = "..."`` holds ``api_key``).
    words = "(?i:" + "|".join(re.escape(w) for w in sorted(knowledge.credential_keywords)) + ")" if knowledge.credential_keywords else "(?!)"
    always = [re.escape(w) for w in _ALWAYS]
    return re.compile("|".join([imports, *secrets, words, *always, *_CONSOLE, *_RUNS_CODE]), re.M)


def could_matter(text: str, knowledge, settings) -> bool:
    """Could any rule report something in this file, or could it reach agent code elsewhere?"""
    if settings.llm_functions:
        return True  # configured wrapper names can be called from anywhere
    return _triggers(knowledge, frozenset(settings.project_roots)).search(text) is not None
