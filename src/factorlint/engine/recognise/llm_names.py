"""Is a resolved name a model call? Asked by the recognisers and by the project pass.

Kept apart from :mod:`recognisers` so the project pass of a run whose files all come from the
cache does not import LibCST.
"""

from __future__ import annotations

import fnmatch

_NO_MATCH = object()
_MAX_ANSWERS = 20_000  # as the knowledge indexes: a bound on memory across a very large run


def match_llm_qualname(knowledge, qualname: str) -> tuple | None:
    """``(ClientSpec, CallSpec)`` when the knowledge tables call ``qualname`` a model call."""
    answers = knowledge.__dict__.setdefault("_llm_answers", {})
    answer = answers.get(qualname, _NO_MATCH)
    if answer is _NO_MATCH:
        if len(answers) > _MAX_ANSWERS:
            answers.clear()
        answer = answers[qualname] = _match(knowledge, qualname)
    return answer


def _member_matches(methods: list[str], member: str) -> bool:
    for method in methods:
        if method == member:
            return True
        if "*" in method and method.count(".") == member.count(".") and fnmatch.fnmatchcase(
            member, method
        ):
            return True
    return False


def _match(knowledge, qualname: str):
    if qualname.endswith("()"):
        # Calling an instance: ``predict(question=...)`` on ``dspy.ChainOfThought(...)``.
        client = knowledge.client_constructors.first(qualname[:-2])
        if client is not None:
            for spec in client.calls:
                if "__call__" in spec.methods:
                    return client, spec
        return None
    if "()." in qualname:
        receiver, member = qualname.rsplit("().", 1)
        client = knowledge.client_constructors.first(receiver) or knowledge.client_factories.first(
            receiver
        )
        if client is not None:
            for spec in client.calls:
                if _member_matches(spec.methods, member):
                    return client, spec
        return None
    for module, client in knowledge.client_modules.items():
        if qualname.startswith(module + "."):
            member = qualname[len(module) + 1 :]
            for spec in client.calls:
                if _member_matches(spec.methods, member):
                    return client, spec
    return None
