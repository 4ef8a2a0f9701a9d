import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder that is also the current directory (paths in output are relative)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
