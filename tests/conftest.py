import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path_factory, monkeypatch):
    """Runs of the CLI cache in the per-user folder: point it at a folder of this test session,
    so the suite never reads or writes the real user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    monkeypatch.delenv("FACTORLINT_CACHE_DIR", raising=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder that is also the current directory (paths in output are relative)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
