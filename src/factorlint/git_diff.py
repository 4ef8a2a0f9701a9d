"""The lines a change touched, for ``--diff-base REF``: a gate on new code.

The change is what ``HEAD`` holds that the merge base of ``REF`` and ``HEAD`` did not, as a pull
request shows it (``git diff REF...HEAD``): committed work only, so a CI checkout of the pull
request and a developer's branch give the same answer.

This is the one place factorlint runs a program on the scanned repository, and git reads the
repository's own configuration. So only a tree-to-tree diff is asked for (no work tree: no clean
filters, no fsmonitor hook), with external diff drivers, text conversion, the pager and lazy
fetches of a partial clone switched off; the revision must name a commit and cannot pass for an
option; and the output is parsed as data.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT = 120  # seconds, for each git command
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@{}^~:-]{0,255}")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


class GitDiffError(Exception):
    """``--diff-base`` cannot be answered: one line saying why."""


@dataclass
class ChangedLines:
    """The new-side lines each file of the change touched, by path relative to the repository."""

    repository: Path
    base: str  # the merge base's commit id
    files: dict[str, set[int]] = field(default_factory=dict)

    def touches(self, path: str, line: int, end_line: int) -> bool:
        lines = self.files.get(path, set())
        return any(n in lines for n in range(line, end_line + 1))


def changed_lines(repository: Path, revision: str) -> ChangedLines:
    """What ``HEAD`` changed since its merge base with ``revision``, in the repository whose work
    tree is ``repository``."""
    if not _REVISION.fullmatch(revision) or ".." in revision:
        raise GitDiffError(f"--diff-base: {revision!r} is not a revision name git would take here")
    commit = _git(repository, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    if not commit:
        raise GitDiffError(f"--diff-base: {revision!r} does not name a commit of {repository}")
    base = _git(repository, "merge-base", commit.strip(), "HEAD").strip()
    if not base:
        raise GitDiffError(f"--diff-base: {revision!r} and HEAD have no common history")
    text = _git(
        repository, "diff", "--no-ext-diff", "--no-textconv", "--no-color", "--find-renames", "--unified=0",
        "--src-prefix=a/", "--dst-prefix=b/", base, "HEAD", "--",
    )
    return ChangedLines(repository, base, parse_unified_diff(text))


def parse_unified_diff(text: str) -> dict[str, set[int]]:
    """New-side path -> the new-side lines added or changed, from ``git diff --unified=0``."""
    files: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in text.split("\n"):
        if line.startswith("+++ "):
            target = _unquote(line[4:])
            current = None if target is None or not target.startswith("b/") else files.setdefault(target[2:], set())
        elif line.startswith("@@") and current is not None:
            match = _HUNK.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or "1")
                current.update(range(start, start + count))
    return files


def _unquote(name: str) -> str | None:
    """A path as git prints it: as is, or C-quoted with octal escapes of its bytes; None for
    ``/dev/null`` (a deleted file)."""
    if name == "/dev/null":
        return None
    if not name.startswith('"'):
        return name
    if not name.endswith('"') or len(name) < 2:
        return None
    out = bytearray()
    body = name[1:-1]
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            index += 1
            continue
        following = body[index + 1:index + 2]
        if following in _ESCAPES:
            out.append(_ESCAPES[following])
            index += 2
        elif re.fullmatch(r"[0-7]{3}", body[index + 1:index + 4]):
            out.append(int(body[index + 1:index + 4], 8))
            index += 4
        else:
            return None
    return os.fsdecode(bytes(out))


def _git(repository: Path, *args: str) -> str:
    return _git_bytes(repository, *args).decode("utf-8", "surrogateescape")


def _git_bytes(repository: Path, *args: str) -> bytes:
    executable = shutil.which("git")
    if executable is None:
        raise GitDiffError("--diff-base needs git, and no git is on the PATH")
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith("GIT_") or key in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")
    }
    environment.update(GIT_TERMINAL_PROMPT="0", GIT_NO_LAZY_FETCH="1", GIT_PAGER="cat", LC_ALL="C")
    command = [
        executable, "--no-pager", "-C", str(repository),
        "-c", "core.fsmonitor=false", "-c", "core.pager=cat", "-c", "diff.external=",
        "-c", "core.quotePath=true", *args,
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, env=environment, timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitDiffError(f"--diff-base: git {args[0]} took more than {TIMEOUT} s") from None
    except OSError as exc:
        raise GitDiffError(f"--diff-base: cannot run git: {exc.strerror or exc}") from None
    if completed.returncode != 0 and args[0] != "rev-parse":
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitDiffError(f"--diff-base: git {args[0]} failed: {message[-1] if message else completed.returncode}")
    return completed.stdout


MAX_TREE_BYTES = 1 << 30  # what git archive may hand over for one tree


def extract_tree(repository: Path, commit: str, destination: Path) -> None:
    """The files of ``commit`` written under ``destination``, for an audit of the code before a
    change. ``git archive`` reads objects only (no work tree, no filters); the archive is read as
    data: only regular files and folders, by names that stay inside ``destination``."""
    import io
    import tarfile

    if not re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", commit):
        raise GitDiffError(f"--diff-base: {commit!r} is not a commit id")
    data = _git_bytes(repository, "archive", "--format=tar", commit)
    if len(data) > MAX_TREE_BYTES:
        raise GitDiffError(f"--diff-base: the tree of {commit[:12]} is larger than {MAX_TREE_BYTES >> 20} MiB")
    root = destination.resolve()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive:
            if not (member.isfile() or member.isdir()):
                continue
            target = (root / member.name).resolve()
            if target != root and root not in target.parents:
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            if source is not None:
                target.write_bytes(source.read())


def scanned_changes(report, revision: str) -> tuple[ChangedLines, str]:
    """The lines changed since ``revision`` in the repository of the report's root, and that
    root's path within the repository ('/'-terminated, "" at the repository's root)."""
    from factorlint.git_index import repository_root

    root = Path(report.root or ".").resolve()
    repository = repository_root(root)
    if repository is None:
        raise GitDiffError(f"--diff-base: {report.root or '.'} is not in a git work tree")
    changes = changed_lines(repository, revision)
    prefix = root.relative_to(repository).as_posix()
    return changes, ("" if prefix == "." else prefix + "/")


def on_changed_lines(report, revision: str):
    """``report`` with only the findings (and diagnostics) on lines changed since ``revision``,
    and how many others it left out (``Report.diff_scope``)."""
    import dataclasses

    from factorlint.model import DiffScope

    changes, prefix = scanned_changes(report, revision)
    kept = [f for f in report.findings if changes.touches(prefix + f.path, f.line, f.end_line)]
    diagnostics = [d for d in report.diagnostics if (prefix + d.path) in changes.files]
    scope = DiffScope(revision, changes.base, len(report.findings) - len(kept))
    return dataclasses.replace(report, findings=kept, diagnostics=diagnostics, diff_scope=scope)
