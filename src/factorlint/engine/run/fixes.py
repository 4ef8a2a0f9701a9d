"""Applying fixes: edits to text, checked to parse, written only over the bytes analysed.

A file is written only under ``--fix``, only when the edited text still parses, and only when its
bytes on disk are still exactly the bytes the findings were computed from (their SHA-256 is
compared when the file is read for fixing and again just before the write), so an edit computed
from an older version of a file, one saved during the run or one a stale cache entry described,
is reported (TFA0004), never applied.

The write goes through a temporary file in the target's folder renamed over it (``os.replace``),
so an interrupted run leaves the old file or the new one, never half of each. The new file keeps
the old one's mode, owner, group and extended attributes (ACLs and SELinux labels live there). A
symlink is written through to its target, and the link is kept. A file with several hard links,
or one whose owner cannot be given to a new file, is rewritten in place instead (a rename would
detach it from its other names or change its owner), after the same byte comparison. A file
with no write permission bit is read-only even for root: it is reported, never forced.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from factorlint.atomic_write import staged_file
from factorlint.engine.read.notebook import NotebookError, is_notebook, read_notebook, write_cells
from factorlint.engine.read.source import decode_source
from factorlint.model import Edit, Finding


@dataclass
class FixOutcome:
    path: str
    applied: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)  # overlapping edits: next run
    error: str | None = None
    original: str = ""
    fixed: str = ""
    # What a write needs: where the file is and the bytes it must still hold (none: a file the
    # fix creates, which must not exist when it is written).
    disk_path: Path | None = None
    data: bytes = b""
    created: bool = False


def fixable(findings: Iterable[Finding], unsafe: bool) -> list[Finding]:
    allowed = {"safe", "unsafe"} if unsafe else {"safe"}
    return [f for f in findings if f.fix is not None and f.fix.edits and f.fix.applicability in allowed]


def _offsets(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if line - 1 >= len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def apply_edits(text: str, findings: list[Finding]) -> tuple[str, list[Finding], list[Finding]]:
    """Apply each finding's edits, last first; a finding whose edits overlap an applied one waits."""
    starts = _offsets(text)
    spans: list[tuple[int, int, Edit, Finding]] = []
    for finding in findings:
        assert finding.fix is not None, "only findings with a fix (see fixable) reach here"
        for edit in finding.fix.edits:
            start = _offset(starts, text, edit.line, edit.column)
            end = _offset(starts, text, edit.end_line, edit.end_column)
            spans.append((start, end, edit, finding))
    applied: list[Finding] = []
    skipped: list[Finding] = []
    taken: list[tuple[int, int]] = []
    by_finding: dict[int, list[tuple[int, int, Edit]]] = {}
    for start, end, edit, finding in spans:
        by_finding.setdefault(id(finding), []).append((start, end, edit))
    chosen: list[tuple[int, int, Edit]] = []
    for finding in sorted(findings, key=lambda f: (f.line, f.column)):
        # An edit another applied fix already makes (the same import line) is shared, not a clash.
        edits = [item for item in by_finding.get(id(finding), []) if not _already(item, chosen)]
        if any((s < e2 and s2 < e) or (s == e == s2 == e2) for s, e, _ in edits for s2, e2 in taken):
            skipped.append(finding)
            continue
        taken.extend((s, e) for s, e, _ in edits)
        chosen.extend(edits)
        applied.append(finding)
    for start, end, edit in sorted(chosen, key=lambda item: (item[0], item[1]), reverse=True):
        text = text[:start] + edit.content + text[end:]
    return text, applied, skipped


def _already(item: tuple[int, int, Edit], chosen: list[tuple[int, int, Edit]]) -> bool:
    start, end, edit = item
    return any(start == s and end == e and edit.content == other.content for s, e, other in chosen)


def fix_text(data: bytes, findings: list[Finding], unsafe: bool) -> tuple[str | None, str, list[Finding]]:
    """The fixes of ``findings`` applied to source bytes that are not a file (standard input):
    (the decoded text, or None when it does not decode; the fixed text, which is the original
    when the fixes would not parse; the findings fixed)."""
    original = decode_source(data).text
    if original is None:
        return None, "", []
    # Standard input is one file: a fix that writes another file has nowhere to go.
    fixed, applied, _ = apply_edits(original, [f for f in fixable(findings, unsafe) if f.fix and not f.fix.moves])
    if not parses(fixed):
        return original, original, []
    return original, fixed, applied


def unified_diff(path: str, before: str, after: str, *, created: bool = False) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile="/dev/null" if created else f"a/{path}", tofile=f"b/{path}",
        )
    )


STALE = "changed since it was analysed; not fixed (run factorlint again)"


def fix_file(
    disk_path: Path,
    relative: str,
    findings: list[Finding],
    *,
    write: bool,
    analysed_digest: str = "",
) -> FixOutcome:
    """Apply ``findings``' edits to the file; ``analysed_digest`` is the SHA-256 of the bytes
    they were computed from (the file is left alone unless it still has exactly those bytes)."""
    outcome = prepare_fix(disk_path, relative, findings, analysed_digest=analysed_digest)
    if write and not outcome.error and outcome.fixed != outcome.original:
        write_outcome(outcome)
    return outcome


def prepare_fix(
    disk_path: Path,
    relative: str,
    findings: list[Finding],
    *,
    analysed_digest: str = "",
    arrange: Callable[[str], list[Finding] | None] | None = None,
    finish: Callable[[str, list[Finding]], str] | None = None,
) -> FixOutcome:
    """The file's text with ``findings``' edits applied, checked to parse, not written.
    ``arrange`` gives the findings to apply from the script as read (a moved literal's edit
    under the name free in the file; None: the file does not parse). ``finish`` completes the
    edited script from the findings applied (the import of moved constants) before the check."""
    outcome = FixOutcome(relative, disk_path=disk_path)
    try:
        data = _read_regular(disk_path)
    except OSError as exc:
        outcome.error = f"cannot be read: {exc.strerror or exc}"
        return outcome
    if analysed_digest and hashlib.sha256(data).hexdigest() != analysed_digest:
        outcome.error = STALE
        return outcome
    outcome.data = data
    decoded = decode_source(data)
    if decoded.text is None:
        outcome.error = decoded.error
        return outcome
    original = decoded.text
    notebook = None
    script = original
    if is_notebook(relative):
        try:
            notebook = read_notebook(original)
        except NotebookError as exc:
            outcome.error = str(exc)
            return outcome
        script = notebook.script  # the edits are in the lines of the cells' script
    if arrange is not None:
        arranged = arrange(script)
        if arranged is None:
            outcome.original = outcome.fixed = original
            outcome.error = "the file does not parse"
            return outcome
        findings = arranged
    fixed_script, applied, skipped = apply_edits(script, findings)
    if finish is not None and applied:
        fixed_script = finish(fixed_script, applied)
    fixed = fixed_script
    outcome.original, outcome.fixed, outcome.applied, outcome.skipped = original, fixed, applied, skipped
    if fixed_script == script:
        outcome.fixed = original
        return outcome
    if not parses(fixed_script):
        return refused(outcome, "the fixed file would not parse; left unchanged")
    if notebook is not None:
        written = write_cells(notebook, fixed_script, original)
        if written is None:
            return refused(outcome, "the fix would move code between the notebook's cells; left unchanged")
        fixed = outcome.fixed = written
    return outcome


def parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    return True


def refused(outcome: FixOutcome, why: str) -> FixOutcome:
    """The outcome of a fix that is not made: nothing applied, the text as it was."""
    outcome.error = why
    outcome.applied, outcome.fixed = [], outcome.original
    return outcome


def write_outcome(outcome: FixOutcome) -> None:
    """Write the fixed text: over the bytes that were read, or as a new file that must not
    exist yet. A failure is recorded on the outcome, which then applies nothing."""
    assert outcome.disk_path is not None
    if outcome.created:
        error = create_file(outcome.disk_path, outcome.fixed)
    else:
        error = write_atomically(outcome.disk_path, outcome.fixed, outcome.data)
    if error:
        refused(outcome, error)


def create_file(path: Path, text: str) -> str | None:
    """Create ``path`` holding ``text`` (UTF-8); refused when anything exists there already."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return "exists already; not created"
    except OSError as exc:
        return f"cannot be created: {exc.strerror or exc}"
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return f"cannot be written: {exc.strerror or exc}"
    _sync_folder(path.parent)
    return None


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file; a FIFO or device is refused without blocking on it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def _encoding_of(data: bytes) -> str:
    import io
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"


def _writable(path: Path, info: os.stat_result) -> bool:
    """Whether the file may be rewritten: it has a write bit (root bypasses permissions, so
    ``os.access`` alone would let root overwrite a file its owner marked read-only) and this
    user may write it."""
    return bool(info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(path, os.W_OK)


class _Changed(Exception):
    """The file's bytes are no longer the bytes that were analysed."""


def write_atomically(path: Path, text: str, original_bytes: bytes) -> str | None:
    """Write ``text`` over the file at ``path`` (through a symlink, to its target) if the file
    still holds ``original_bytes``; None on success, else why it was not written."""
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(target)
    except OSError as exc:
        return f"cannot be written: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file; not fixed"
    if not _writable(target, info):
        return "is read-only; not fixed"
    encoding = _encoding_of(original_bytes)
    bom = original_bytes.startswith(b"\xef\xbb\xbf") and encoding == "utf-8-sig"
    try:
        payload = text.encode("utf-8" if bom else encoding)
        if bom:
            payload = b"\xef\xbb\xbf" + payload
    except UnicodeEncodeError as exc:
        return f"the fix cannot be encoded as {encoding}: {exc.reason}"
    try:
        if info.st_nlink > 1 or not _replace(target, info, payload, original_bytes):
            _write_in_place(target, payload, original_bytes)
    except _Changed:
        return STALE
    except OSError as exc:
        return f"cannot be written: {exc.strerror or exc}"
    return None


def _unchanged(target: Path, original_bytes: bytes) -> None:
    """The last look before the write: raise _Changed if the file no longer holds the bytes."""
    try:
        current = _read_regular(target)
    except OSError as exc:
        raise _Changed from exc
    if current != original_bytes:
        raise _Changed


def _replace(target: Path, info: os.stat_result, payload: bytes, original_bytes: bytes) -> bool:
    """Write a temporary file with the target's metadata and rename it over the target. False
    (nothing changed) when the temporary file cannot be given the target's owner and group."""
    with staged_file(target, payload, suffix=".factorlint") as temporary:
        if (info.st_uid, info.st_gid) != _owner_of(temporary):
            try:
                os.chown(temporary, info.st_uid, info.st_gid)
            except PermissionError:
                return False
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        _copy_xattrs(target, temporary)
        _unchanged(target, original_bytes)
        os.replace(temporary, target)
    _sync_folder(target.parent)
    return True


def _owner_of(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_uid, info.st_gid


def _copy_xattrs(source: Path, destination: str) -> None:
    """Copy extended attributes (ACLs, SELinux labels, user.* data); a file system without
    them, or an attribute this user may not set, is skipped."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(source)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(destination, name, os.getxattr(source, name))
        except OSError:
            continue


def _write_in_place(target: Path, payload: bytes, original_bytes: bytes) -> None:
    """Rewrite the file's own inode (hard links and ownership stay as they are)."""
    fd = os.open(target, os.O_RDWR | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Changed
        with os.fdopen(fd, "r+b", closefd=False) as handle:
            if handle.read() != original_bytes:
                raise _Changed
            handle.seek(0)
            handle.write(payload)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); where folders cannot be opened, nothing to do."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
