"""LibCST's parse, without re-validating every node the parser has just built.

Each LibCST node checks its own invariants when it is constructed (``CSTNode.__post_init__``
calls ``_validate``). That protects trees built by hand; a tree from the parser is valid by
construction, and LibCST's own source notes the validation could be skipped when parsing. Here
it is: the check is switched off only for the duration of ``parse_module`` and restored after,
so nodes a rule or a fix builds are validated as usual. If a LibCST release moves the hook, the
parse simply runs with validation.
"""

from __future__ import annotations

import libcst as cst
from libcst._nodes.base import CSTNode

_VALIDATE = CSTNode.__dict__.get("__post_init__")


def _trusted(self) -> None:
    """Nodes built by the parser."""


def parse_module(text: str) -> cst.Module:
    if _VALIDATE is None:
        return cst.parse_module(text)
    CSTNode.__post_init__ = _trusted  # one thread per process: nothing else builds nodes now
    try:
        return cst.parse_module(text)
    finally:
        CSTNode.__post_init__ = _VALIDATE
