"""Reading a file's bytes into text: PEP 263 cookies, BOMs, NUL bytes and size limits."""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from typing import Optional

# The diagnostic for a file that could not be read, decoded or parsed.
UNREADABLE = "TFA0001"


@dataclass(frozen=True)
class DecodeResult:
    text: Optional[str]
    error: Optional[str] = None


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
    return DecodeResult(text)
