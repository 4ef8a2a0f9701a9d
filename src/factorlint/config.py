"""Configuration: ``[tool.factorlint]`` in pyproject.toml, or factorlint.toml / .factorlint.toml.

The closest file to the scanned path wins; ``extend = "../pyproject.toml"`` chains explicitly and
the command line overrides everything. Keys are kebab-case and validated by pydantic: an unknown
key, an unknown rule selector or a bad value is a :class:`ConfigError` that names the file and key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILES = ("factorlint.toml", ".factorlint.toml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration problem, reported in one line with exit code 2."""


def _kebab(name: str) -> str:
    return name.replace("_", "-")


# Modules whose purpose is to hold prompt text (TFA0203 does not flag inline prompts in them).
DEFAULT_PROMPT_MODULES = ("prompts", "*.prompts", "*_prompts", "prompt", "*.prompt")


class FileConfig(BaseModel):
    """What a configuration file may say."""

    # Kebab-case only: `max_steps` is an unknown key, as in ruff (no second spelling to drift apart).
    model_config = ConfigDict(extra="forbid", alias_generator=_kebab)

    extend: Optional[str] = None
    select: Optional[list[str]] = None
    ignore: list[str] = []
    extend_select: list[str] = []
    per_file_ignores: dict[str, list[str]] = {}
    exclude: Optional[list[str]] = None
    extend_exclude: list[str] = []
    include: list[str] = ["*.py", "*.pyi"]
    respect_gitignore: bool = True
    max_steps: int = Field(20, ge=1)
    max_tools: int = Field(12, ge=1)
    max_intents: int = Field(12, ge=1)
    max_prompt_chars: int = Field(12_000, ge=1)
    max_retries_threshold: int = Field(10, ge=0)
    inline_prompt_min_chars: int = Field(200, ge=1)
    max_file_bytes: int = Field(5_000_000, ge=1)
    # The budget of one file's analysis: past it the file is a diagnostic and the run goes on.
    max_file_seconds: float = Field(20.0, gt=0)
    max_file_memory: int = Field(2048, ge=64)  # MiB
    wrapper_depth: int = Field(3, ge=1, le=10)
    llm_functions: list[str] = []
    bounded_by: list[str] = []
    # Decorators (QN patterns) that gate a tool behind a person's approval, for TFA0703.
    approval_decorators: list[str] = []
    budget_name_pattern: Optional[str] = None
    prompt_modules: list[str] = list(DEFAULT_PROMPT_MODULES)
    # Factor 11: your own webhook verification functions or middleware (QN globs), for TFA1103.
    webhook_verifiers: list[str] = []
    # Factor 6: LangGraph Platform / `langgraph dev` injects the checkpointer (silences TFA0603).
    langgraph_platform: bool = False
    # Factor 3: functions that trim or summarise a history (names or QN globs), added to the
    # built-in name fragments (trim, compact, summar, window, truncate, prune, squash).
    compaction_functions: list[str] = []
    max_steps_for_context: int = Field(20, ge=1)
    # The (select, ignore, extend-select) of each file in an ``extend`` chain, base first: ruff
    # applies them in turn rather than letting the child's ``ignore`` replace the base's.
    _layers: Optional[list[tuple]] = PrivateAttr(default=None)

    def selection_layers(self) -> list[tuple]:
        if self._layers is not None:
            return self._layers
        return [(self.select, self.ignore, self.extend_select)]

    @field_validator("select", "ignore", "extend_select")
    @classmethod
    def _known_selectors(cls, value):
        if value is None:
            return value
        from factorlint.checks.registry import is_known_selector

        for selector in value:
            if not is_known_selector(selector):
                raise ValueError(f"unknown rule selector {selector!r}")
        return value

    @field_validator("per_file_ignores")
    @classmethod
    def _known_per_file(cls, value):
        from factorlint.checks.registry import is_known_selector

        for pattern, selectors in value.items():
            for selector in selectors:
                if not is_known_selector(selector):
                    raise ValueError(f"unknown rule selector {selector!r} for {pattern!r}")
        return value

    @field_validator("budget_name_pattern")
    @classmethod
    def _compiles(cls, value):
        if value is not None:
            import re

            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".factorlint_cache", ".tox", ".nox", "node_modules", "site-packages", "build",
    "dist", "_build", "*.egg-info", ".eggs", "baml_client",
)


@dataclass
class Settings:
    """Resolved settings for one run: file configuration plus command-line overrides."""

    root: Path
    config_path: Optional[Path]
    enabled: set[str]
    per_file_ignores: list[tuple[str, list[str]]] = field(default_factory=list)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ("*.py", "*.pyi")
    respect_gitignore: bool = True
    force_exclude: bool = False
    max_steps: int = 20
    max_tools: int = 12
    max_intents: int = 12
    max_prompt_chars: int = 12_000
    max_retries_threshold: int = 10
    inline_prompt_min_chars: int = 200
    max_file_bytes: int = 5_000_000
    max_file_seconds: float = 20.0
    max_file_memory: int = 2048  # MiB
    wrapper_depth: int = 3
    llm_functions: tuple[str, ...] = ()
    bounded_by: tuple[str, ...] = ()
    approval_decorators: tuple[str, ...] = ()
    budget_name_pattern: Optional[str] = None
    prompt_modules: tuple[str, ...] = DEFAULT_PROMPT_MODULES
    webhook_verifiers: tuple[str, ...] = ()
    langgraph_platform: bool = False
    compaction_functions: tuple[str, ...] = ()
    max_steps_for_context: int = 20
    versions: dict[str, str] = field(default_factory=dict)
    # Top-level modules of the scanned project (set per run): importing one can reach agent code.
    project_roots: frozenset = frozenset()


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _table_of(path: Path) -> Optional[dict]:
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("factorlint")
        return table if isinstance(table, dict) else None
    return data


def find_config(start: Path) -> Optional[Path]:
    """The closest configuration file at or above ``start``."""
    folder = start if start.is_dir() else start.parent
    for candidate_dir in (folder, *folder.parents):
        for name in CONFIG_FILES:
            candidate = candidate_dir / name
            if candidate.is_file() and (name != "pyproject.toml" or _table_of(candidate) is not None):
                return candidate
    return None


def load_file_config(path: Path, _seen: Optional[set[Path]] = None) -> FileConfig:
    seen = _seen or set()
    resolved = path.resolve()
    if resolved in seen:
        raise ConfigError(f"{path}: extend chain loops back to itself")
    seen.add(resolved)
    table = _table_of(path)
    if table is None:
        if path.name == "pyproject.toml":
            return FileConfig()
        raise ConfigError(f"{path}: no configuration found")
    base: dict = {}
    base_layers: list[tuple] = []
    if "extend" in table:
        extended = (path.parent / str(table["extend"])).resolve()
        if not extended.is_file():
            raise ConfigError(f"{path}: extend: {table['extend']} does not exist")
        base_config = load_file_config(extended, seen)
        base_layers = base_config.selection_layers()
        base = base_config.model_dump(by_alias=True, exclude_unset=True)
        base.pop("extend", None)
    try:
        config = FileConfig.model_validate({**base, **table})
        own = FileConfig.model_validate({k: v for k, v in table.items() if k != "extend"})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(table)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{path}: {key}: {message}") from None
    config._layers = [*base_layers, (own.select, own.ignore, own.extend_select)]
    return config


@dataclass
class Overrides:
    """What the command line says; None means "not given"."""

    config: Optional[Path] = None
    isolated: bool = False
    select: Optional[list[str]] = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: list[str] = field(default_factory=list)  # "pattern:CODE,CODE"
    exclude: Optional[list[str]] = None
    extend_exclude: list[str] = field(default_factory=list)
    force_exclude: bool = False


def resolve_settings(root: Path, overrides: Overrides, config_start: Optional[Path] = None) -> Settings:
    """Settings for a run over ``root``; configuration is looked up from ``config_start``
    (the folder holding every target) or from ``root``."""
    from factorlint.checks.registry import is_known_selector, resolve_selection

    config_path: Optional[Path] = None
    file_config = FileConfig()
    if overrides.config is not None:
        if not overrides.config.is_file():
            raise ConfigError(f"{overrides.config}: configuration file does not exist")
        config_path = overrides.config
        file_config = load_file_config(overrides.config)
    elif not overrides.isolated:
        config_path = find_config(config_start or root)
        if config_path is not None:
            file_config = load_file_config(config_path)

    for selector in [*(overrides.select or []), *overrides.ignore, *overrides.extend_select]:
        if not is_known_selector(selector):
            raise ConfigError(f"unknown rule selector {selector!r}")
    enabled = resolve_selection(
        [*file_config.selection_layers(), (overrides.select, overrides.ignore, overrides.extend_select)]
    )
    per_file = [(pattern, codes) for pattern, codes in file_config.per_file_ignores.items()]
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
        tuple(file_config.exclude) if file_config.exclude is not None else DEFAULT_EXCLUDES
    )
    scan_dir = root if root.is_dir() else root.parent
    project_root = config_path.parent if config_path is not None else scan_dir
    from factorlint.versions import detect_versions

    return Settings(
        root=root,
        config_path=config_path,
        enabled=enabled,
        per_file_ignores=per_file,
        exclude=exclude,
        extend_exclude=tuple(file_config.extend_exclude) + tuple(overrides.extend_exclude),
        include=tuple(file_config.include),
        respect_gitignore=file_config.respect_gitignore,
        force_exclude=overrides.force_exclude,
        max_steps=file_config.max_steps,
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
        budget_name_pattern=file_config.budget_name_pattern,
        prompt_modules=tuple(file_config.prompt_modules),
        webhook_verifiers=tuple(file_config.webhook_verifiers),
        langgraph_platform=file_config.langgraph_platform,
        compaction_functions=tuple(file_config.compaction_functions),
        max_steps_for_context=file_config.max_steps_for_context,
        versions=detect_versions(scan_dir, project_root),
    )
