"""Configuration: ``[tool.factorlint]`` in pyproject.toml, or factorlint.toml / .factorlint.toml.

Each file uses the closest configuration file above it (:func:`with_nested_configs`, ruff's rule);
``extend = "../pyproject.toml"`` chains explicitly and the command line overrides everything. Keys are kebab-case and validated by pydantic: an unknown
key, an unknown rule selector or a bad value is a :class:`ConfigError` that names the file and key.
What validation made of a configuration is kept in the cache folder under the digest of the bytes
of its files (:mod:`factorlint.compiled_cache`), so pydantic runs only when they changed.

Configuration comes from the repository under review, so reading it is guarded like any other file
of the tree (:mod:`factorlint.safe_read`): only regular files under a size limit are read, and any
odd shape (not UTF-8, nested too deeply, ``tool = 5``, a FIFO, a folder, an endless ``extend``
chain) is a one-line ConfigError naming the file, never an internal error. Inside a repository,
the search for a configuration stops at the repository's root, and a configuration file (or a
symlink to one) may only extend files inside its own repository; ``--config`` names a file the
person running factorlint chose, which may live anywhere.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from factorlint.git_index import repository_root
from factorlint.knowledge_schema_base import Bounds, Check, _Strict, compiles, record
from factorlint.safe_read import ReadRefused, not_regular, read_regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILES = ("factorlint.toml", ".factorlint.toml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration problem, reported in one line with exit code 2.

    The message quotes what a configuration file says (keys, ``extend`` paths); control characters
    in it are escaped, so it stays one line whatever the file holds.
    """

    def __init__(self, message: str) -> None:
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


def _kebab(name: str) -> str:
    return name.replace("_", "-")


# Modules whose purpose is to hold prompt text (TFA0203 does not flag inline prompts in them).
DEFAULT_PROMPT_MODULES = ("prompts", "*.prompts", "*_prompts", "prompt", "*.prompt")


def _known_selectors(value: list[str] | None) -> list[str] | None:
    if value is None:
        return value
    from factorlint.checks.registry import is_known_selector

    for selector in value:
        if not is_known_selector(selector):
            raise ValueError(f"unknown rule selector {selector!r}")
    return value


def _known_per_file(value: dict[str, list[str]]) -> dict[str, list[str]]:
    from factorlint.checks.registry import is_known_selector

    for pattern, selectors in value.items():
        for selector in selectors:
            if not is_known_selector(selector):
                raise ValueError(f"unknown rule selector {selector!r} for {pattern!r}")
    return value


def _dotted(value: str | None) -> str | None:
    import re

    if value is not None and not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", value):
        raise ValueError("expected a function's dotted name, module and function (myapp.approvals.request)")
    return value


Selectors = Annotated[list[str], Check(_known_selectors)]


@record
class FileConfig(_Strict):
    """What a configuration file may say (a record: validated by pydantic, see
    :mod:`factorlint.knowledge_schema_base`)."""

    # Kebab-case only: `max_steps` is an unknown key, as in ruff (no second spelling to drift apart).
    __pydantic_config__ = {"alias_generator": _kebab}

    extend: str | None = None
    select: Selectors | None = None
    ignore: Selectors = []
    extend_select: Selectors = []
    per_file_ignores: Annotated[dict[str, list[str]], Check(_known_per_file)] = {}
    exclude: list[str] | None = None
    extend_exclude: list[str] = []
    include: list[str] = ["*.py", "*.pyi", "*.ipynb"]
    respect_gitignore: bool = True
    # Test and example code is listed in the inventory, not judged: factor rules skip it unless
    # this is on (docs/violations.md, "Test code").
    check_test_code: bool = False
    max_steps: Annotated[int, Bounds(ge=1)] = 20
    # docs/violations.md: a step cap of about 75 or more is too large for one agent.
    max_step_budget: Annotated[int, Bounds(ge=1)] = 74
    max_tools: Annotated[int, Bounds(ge=1)] = 17  # docs/violations.md: about 18 tools or more
    max_intents: Annotated[int, Bounds(ge=1)] = 12
    max_prompt_chars: Annotated[int, Bounds(ge=1)] = 12_000
    max_retries_threshold: Annotated[int, Bounds(ge=0)] = 10
    inline_prompt_min_chars: Annotated[int, Bounds(ge=1)] = 200
    max_file_bytes: Annotated[int, Bounds(ge=1)] = 5_000_000
    # The budget of one file's analysis: past it the file is a diagnostic and the run goes on.
    max_file_seconds: Annotated[float, Bounds(gt=0)] = 20.0
    max_file_memory: Annotated[int, Bounds(ge=64)] = 2048  # MiB
    wrapper_depth: Annotated[int, Bounds(ge=1, le=10)] = 10
    llm_functions: list[str] = []
    bounded_by: list[str] = []
    # Decorators (QN patterns) that gate a tool behind a person's approval, for TFA0703.
    approval_decorators: list[str] = []
    # Factors 6 and 7: the project's own function that asks a person for approval through a
    # resumable channel (``myapp.approvals.request``); the fix for a console prompt calls it.
    approval_function: Annotated[str, Check(_dotted)] | None = None
    budget_name_pattern: Annotated[str, Check(compiles)] | None = None
    prompt_modules: list[str] = list(DEFAULT_PROMPT_MODULES)
    # Factor 2: TFA0203's fix moves an inline prompt into the project's prompts module (unsafe,
    # two files); false keeps it in its own file as a module-level constant (safe).
    move_prompts_to_module: bool = True
    # Factor 11: your own webhook verification functions or middleware (QN globs), for TFA1103.
    webhook_verifiers: list[str] = []
    # Factor 6: LangGraph Platform / `langgraph dev` injects the checkpointer (silences TFA0603).
    langgraph_platform: bool = False
    # Factor 3: functions that trim or summarise a history (names or QN globs), added to the
    # built-in name fragments (trim, compact, summar, window, truncate, prune, squash).
    compaction_functions: list[str] = []


DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".factorlint_cache", ".tox", ".nox", "node_modules", "site-packages", "build",
    "dist", "_build", "*.egg-info", ".eggs", "baml_client",
)


@dataclass
class Settings:
    """Resolved settings for one run: file configuration plus command-line overrides."""

    root: Path
    config_path: Path | None
    enabled: set[str]
    per_file_ignores: list[tuple[str, list[str]]] = field(default_factory=list)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ("*.py", "*.pyi", "*.ipynb")
    respect_gitignore: bool = True
    force_exclude: bool = False
    check_test_code: bool = False
    max_steps: int = 20
    max_step_budget: int = 74
    max_tools: int = 17
    max_intents: int = 12
    max_prompt_chars: int = 12_000
    max_retries_threshold: int = 10
    inline_prompt_min_chars: int = 200
    max_file_bytes: int = 5_000_000
    max_file_seconds: float = 20.0
    max_file_memory: int = 2048  # MiB
    wrapper_depth: int = 10
    llm_functions: tuple[str, ...] = ()
    bounded_by: tuple[str, ...] = ()
    approval_decorators: tuple[str, ...] = ()
    approval_function: str | None = None
    budget_name_pattern: str | None = None
    prompt_modules: tuple[str, ...] = DEFAULT_PROMPT_MODULES
    move_prompts_to_module: bool = True
    webhook_verifiers: tuple[str, ...] = ()
    langgraph_platform: bool = False
    compaction_functions: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    # Top-level modules of the scanned project (set per run): importing one can reach agent code.
    project_roots: frozenset[str] = frozenset()
    # Library mode: the frameworks of the knowledge tables the scanned project is itself (its
    # distribution name, from its packaging metadata). Their API is the project's own code, so
    # rules see the tables without them (Knowledge.without); see factorlint.project_metadata.
    internal_frameworks: frozenset[str] = frozenset()
    # What the command line said, kept to resolve the configuration files further down the tree.
    overrides: Overrides | None = None
    # The configuration files below this one that govern part of the tree: (the folder's path
    # relative to the root, with a trailing '/', its settings), deepest first. See for_path.
    nested: tuple[tuple[str, Settings], ...] = ()

    def for_path(self, relative: str) -> Settings:
        """The settings of the closest configuration file above ``relative`` ('/'-separated,
        relative to the root): a nested one, else these."""
        for prefix, settings in self.nested:
            if relative.startswith(prefix):
                return settings
        return self


def _read_toml(path: Path) -> tuple[dict, bytes]:
    """A configuration file's TOML and its bytes; every way it can fail is a one-line
    ConfigError naming it.

    The file is read only if it is a regular file of at most PROJECT_FILE_MAX_BYTES (a FIFO would
    block, a symlink to /dev/zero would never end), and must be UTF-8 TOML of sane depth.
    """
    try:
        data = read_regular_file(path)
    except ReadRefused as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    try:
        return tomllib.loads(text), data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def _type_name(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}.get(
        type(value), type(value).__name__
    )


def _table_of(path: Path) -> dict | None:
    """The factorlint table of a configuration file; None for a pyproject.toml without one."""
    return _read_table(path)[0]


def _read_table(path: Path) -> tuple[dict | None, bytes]:
    """The factorlint table of a configuration file (None for a pyproject.toml without one) and
    the file's bytes."""
    data, raw = _read_toml(path)
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: tool: expected a table, got {_type_name(tool)}")
        table = tool.get("factorlint")
        if table is not None and not isinstance(table, dict):
            raise ConfigError(f"{path}: tool.factorlint: expected a table, got {_type_name(table)}")
        return table, raw
    return data, raw


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        raise ConfigError(f"{path}: cannot be read: a symlink loop") from None
    except ValueError:  # a NUL byte, which a TOML string may hold
        raise ConfigError(f"{path}: not a valid path") from None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_candidate(candidate: Path, repository: Path | None) -> bool:
    """Whether a configuration file by this name exists at ``candidate``. Something by that name
    that cannot be used (a FIFO, a folder, a dangling symlink, a symlink out of the repository)
    is an error rather than passed over: the search must not quietly go on past it."""
    try:
        os.lstat(candidate)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise ConfigError(f"{candidate}: cannot be examined: {exc.strerror or exc}") from None
    try:
        info = os.stat(candidate)
    except OSError as exc:
        raise ConfigError(f"{candidate}: cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{candidate}: cannot be read: {not_regular(info.st_mode)}")
    if repository is not None and not _within(_resolved(candidate), repository):
        raise ConfigError(f"{candidate}: a symlink to a file outside the repository ({repository})")
    return True


def find_config(start: Path) -> Path | None:
    """The closest configuration file at or above ``start``, within its repository.

    The search stops at the repository's root (the closest folder holding ``.git``, a folder or a
    file): configuration outside the repository under review is never read, so a
    ``factorlint.toml`` above a checkout cannot exclude what the checkout holds. Outside any
    repository the search goes up to the filesystem's root.
    """
    folder = _resolved(start if start.is_dir() else start.parent)
    repository = repository_root(folder)
    folders = [folder, *folder.parents]
    if repository is not None:
        folders = folders[: folders.index(repository) + 1]
    for candidate_dir in folders:
        for name in CONFIG_FILES:
            candidate = candidate_dir / name
            if _check_candidate(candidate, repository) and (name != "pyproject.toml" or _table_of(candidate) is not None):
                return candidate
    return None


# The longest ``extend`` chain followed: deep enough for any real layering, short enough to fail
# fast on a generated one.
MAX_EXTEND_CHAIN = 64


def _extended(path: Path, value: object) -> Path:
    """The file that ``extend = value`` in ``path`` names; it must be a regular file and, when
    ``path`` is inside a repository, inside that repository too."""
    if not isinstance(value, str):
        raise ConfigError(f"{path}: extend: expected a string, got {_type_name(value)}")
    if "\0" in value:
        raise ConfigError(f"{path}: extend: {value} is not a valid path")
    target = _resolved(path.parent / value)
    try:
        info = os.stat(target)
    except OSError:
        raise ConfigError(f"{path}: extend: {value} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: extend: {value} is {not_regular(info.st_mode)}")
    repository = repository_root(_resolved(path).parent)
    if repository is not None and not _within(target, repository):
        raise ConfigError(f"{path}: extend: {value} is outside the repository ({repository})")
    return target


# (select or None, ignore, extend-select) of one configuration file: ruff applies those of an
# ``extend`` chain in turn rather than letting the child's ``ignore`` replace the base's.
Layer = tuple[list[str] | None, list[str], list[str]]


def load_file_config(path: Path) -> FileConfig:
    """The configuration of ``path`` with its ``extend`` chain (see :func:`read_config`)."""
    return read_config(path)[0]


def read_config(path: Path) -> tuple[FileConfig, list[Layer]]:
    """The configuration of ``path`` with its ``extend`` chain, followed iteratively: at most
    MAX_EXTEND_CHAIN files, each once, each in the repository of the file extending it; and the
    selection layer of each file of the chain, the base first."""
    chain: list[tuple[Path, dict | None]] = []
    contents: list[bytes] = []
    seen: set[Path] = set()
    current = path
    while True:
        resolved = _resolved(current)
        if resolved in seen:
            raise ConfigError(f"{current}: extend chain loops back to itself")
        if len(chain) >= MAX_EXTEND_CHAIN:
            raise ConfigError(f"{path}: extend chain is longer than {MAX_EXTEND_CHAIN} files")
        seen.add(resolved)
        table, raw = _read_table(current)
        if table is None and current.name != "pyproject.toml":
            raise ConfigError(f"{current}: no configuration found")
        chain.append((current, table))
        kind = b"pyproject" if current.name == "pyproject.toml" else b"table"  # where the table sits
        contents.append(kind + b":" + raw)
        if table is None or "extend" not in table:
            break
        current = _extended(current, table["extend"])
    from factorlint.config_cache import cached_config, store_config

    name, cached = cached_config(contents)
    if cached is not None:
        return cached
    config, layers = _validated(chain)
    store_config(name, config, layers)
    return config, layers


def _validated(chain: list[tuple[Path, dict | None]]) -> tuple[FileConfig, list[Layer]]:
    """The configuration of an ``extend`` chain (the file first, the base last), validated by
    pydantic; a ConfigError names the file and key at fault."""
    from pydantic import ValidationError

    base: dict = {}
    layers: list[Layer] = []
    config = FileConfig()
    for current, table in reversed(chain):  # the base first, each file over the one it extends
        table = table or {}
        try:
            config = FileConfig.model_validate({**base, **table})
            own = FileConfig.model_validate({k: v for k, v in table.items() if k != "extend"})
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in error["loc"]) or "(table)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
                message = "unknown key"
            raise ConfigError(f"{current}: {key}: {message}") from None
        layers.append((own.select, own.ignore, own.extend_select))
        # What the chain has set so far; the next file's keys replace the same keys.
        base = {**base, **{k: v for k, v in table.items() if k != "extend"}}
    return config, layers


@dataclass
class Overrides:
    """What the command line says; None means "not given"."""

    config: Path | None = None
    isolated: bool = False
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: list[str] = field(default_factory=list)  # "pattern:CODE,CODE"
    exclude: list[str] | None = None
    extend_exclude: list[str] = field(default_factory=list)
    force_exclude: bool = False
    check_test_code: bool | None = None


def resolve_settings(
    root: Path, overrides: Overrides, config_start: Path | None = None, *, anchor: str = ""
) -> Settings:
    """Settings for a run over ``root``; configuration is looked up from ``config_start``
    (the folder holding every target) or from ``root``. ``anchor`` is the configuration's folder
    relative to ``root`` ('/'-terminated) for a nested configuration: its per-file-ignores
    patterns with a '/' are anchored there."""
    from factorlint.checks.registry import is_known_selector, resolve_selection

    config_path: Path | None = None
    file_config = FileConfig()
    layers: list[Layer] = [(file_config.select, file_config.ignore, file_config.extend_select)]
    if overrides.config is not None:
        if not overrides.config.exists() and not overrides.config.is_symlink():
            raise ConfigError(f"{overrides.config}: configuration file does not exist")
        config_path = overrides.config
        file_config, layers = read_config(overrides.config)
    elif not overrides.isolated:
        config_path = find_config(config_start or root)
        if config_path is not None:
            file_config, layers = read_config(config_path)

    for selector in [*(overrides.select or []), *overrides.ignore, *overrides.extend_select]:
        if not is_known_selector(selector):
            raise ConfigError(f"unknown rule selector {selector!r}")
    enabled = resolve_selection(
        [*layers, (overrides.select, overrides.ignore, overrides.extend_select)]
    )
    offset = _offset(root, config_path)
    per_file = [
        (anchored, codes) for pattern, codes in file_config.per_file_ignores.items()
        if (anchored := _anchored(pattern, anchor, offset)) is not None
    ]
    for item in overrides.per_file_ignores:
        pattern, _, codes = item.rpartition(":")
        selectors = [c.strip() for c in codes.split(",") if c.strip()]
        if not pattern or not selectors:
            raise ConfigError(f"--per-file-ignores: expected PATTERN:CODE[,CODE], got {item!r}")
        for selector in selectors:
            if not is_known_selector(selector):
                raise ConfigError(f"--per-file-ignores: unknown rule selector {selector!r}")
        per_file.append((pattern, selectors))
    exclude = tuple(overrides.exclude) if overrides.exclude is not None else (
        _anchored_all(file_config.exclude, offset) if file_config.exclude is not None else DEFAULT_EXCLUDES
    )
    scan_dir = root if root.is_dir() else root.parent
    project_root = config_path.parent if config_path is not None else scan_dir
    from factorlint.project_metadata import library_frameworks
    from factorlint.versions import detect_versions

    return Settings(
        root=root,
        config_path=config_path,
        enabled=enabled,
        per_file_ignores=per_file,
        exclude=exclude,
        extend_exclude=_anchored_all(file_config.extend_exclude, offset) + tuple(overrides.extend_exclude),
        include=tuple(file_config.include),
        respect_gitignore=file_config.respect_gitignore,
        force_exclude=overrides.force_exclude,
        check_test_code=(file_config.check_test_code if overrides.check_test_code is None
                         else overrides.check_test_code),
        max_steps=file_config.max_steps,
        max_step_budget=file_config.max_step_budget,
        max_tools=file_config.max_tools,
        max_intents=file_config.max_intents,
        max_prompt_chars=file_config.max_prompt_chars,
        max_retries_threshold=file_config.max_retries_threshold,
        inline_prompt_min_chars=file_config.inline_prompt_min_chars,
        max_file_bytes=file_config.max_file_bytes,
        max_file_seconds=file_config.max_file_seconds,
        max_file_memory=file_config.max_file_memory,
        wrapper_depth=file_config.wrapper_depth,
        llm_functions=tuple(file_config.llm_functions),
        bounded_by=tuple(file_config.bounded_by),
        approval_decorators=tuple(file_config.approval_decorators),
        approval_function=file_config.approval_function,
        budget_name_pattern=file_config.budget_name_pattern,
        prompt_modules=tuple(file_config.prompt_modules),
        move_prompts_to_module=file_config.move_prompts_to_module,
        webhook_verifiers=tuple(file_config.webhook_verifiers),
        langgraph_platform=file_config.langgraph_platform,
        compaction_functions=tuple(file_config.compaction_functions),
        versions=detect_versions(scan_dir, project_root),
        internal_frameworks=library_frameworks(config_start or scan_dir),
        overrides=overrides,
    )


def _offset(root: Path, config_path: Path | None) -> str:
    """The scanned folder relative to the configuration's folder ('/'-terminated) when the
    configuration lies above it: its patterns are written from there."""
    if config_path is None:
        return ""
    scan_dir = _resolved(root if root.is_dir() else root.parent)
    home = _resolved(config_path).parent
    if home == scan_dir or not _within(scan_dir, home):
        return ""
    return scan_dir.relative_to(home).as_posix() + "/"


def _anchored(pattern: str, anchor: str, offset: str) -> str | None:
    """A configuration's path pattern (one with a '/') as the scanned folder sees it: below a
    nested configuration's folder (``anchor``), or with the part above the scanned folder
    removed (``offset``); None when it names nothing under the scanned folder. Patterns without
    a '/' match a name anywhere and are kept as they are."""
    bare = pattern.strip("/")
    if "/" not in bare:
        return pattern
    if anchor:
        return anchor + pattern.lstrip("/")
    if offset:
        if pattern.lstrip("/").startswith(offset):
            return pattern.lstrip("/")[len(offset):]
        if pattern.lstrip("/")[:1] in "*?[":
            return pattern
        return None
    return pattern


def _anchored_all(patterns: Iterable[str], offset: str) -> tuple[str, ...]:
    return tuple(a for p in patterns if (a := _anchored(p, "", offset)) is not None)


def with_nested_configs(settings: Settings, relatives: Iterable[str]) -> Settings:
    """``settings`` knowing the configuration files below its own that govern some of
    ``relatives`` (files relative to its root), as ruff does it: each file uses the closest
    configuration file above it, and ``extend`` chains explicitly. Not with ``--config`` or
    ``--isolated``, which name one configuration for every file."""
    overrides = settings.overrides
    if overrides is None or overrides.config is not None or overrides.isolated:
        return settings
    root = _resolved(settings.root if settings.root.is_dir() else settings.root.parent)
    own = _resolved(settings.config_path) if settings.config_path is not None else None
    found: dict[str, Path | None] = {}
    nested: dict[Path, str] = {}
    for relative in relatives:
        folder = relative.rpartition("/")[0]
        if folder in found:
            continue
        config = find_config(root / folder) if folder else None
        found[folder] = config
        if config is None or _resolved(config) == own:
            continue
        home = _resolved(config).parent
        if not _within(home, root) or home == root:
            continue
        nested.setdefault(config, home.relative_to(root).as_posix() + "/")
    if not nested:
        return settings
    layers = []
    for config, prefix in nested.items():
        child = resolve_settings(settings.root, overrides, config.parent, anchor=prefix)
        layers.append((prefix, child))
    layers.sort(key=lambda item: -len(item[0]))  # the deepest folder first
    return dataclasses.replace(settings, nested=tuple(layers))
