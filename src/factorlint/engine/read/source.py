"""Reading a file's bytes into text: PEP 263 cookies, BOMs, NUL bytes and size limits."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

# The diagnostic for a file that could not be read, decoded or parsed.
UNREADABLE = "TFA0001"

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class DecodeResult:
    text: str | None
    error: str | None = None


def decode_source(data: bytes) -> DecodeResult:
    """Decode as Python would: a BOM or a coding cookie, else UTF-8."""
    if b"\x00" in data:
        return DecodeResult(None, "contains NUL bytes (a binary file?)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        return DecodeResult(None, f"bad encoding declaration: {exc.msg if hasattr(exc, 'msg') else exc}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        return DecodeResult(None, f"cannot be decoded as {encoding}: {exc}")
    if text.startswith("\ufeff"):
        text = text[1:]
    if _SURROGATE.search(text):
        # ``raw_unicode_escape`` and friends turn ``\ud800`` in the bytes into a lone surrogate,
        # which no parser can take as UTF-8 text.
        return DecodeResult(None, f"decoding as {encoding} gives lone surrogates (not valid text)")
    return DecodeResult(text)
