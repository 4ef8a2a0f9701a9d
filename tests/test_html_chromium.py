"""The HTML audit report in a real headless Chromium: no console errors (nothing blocked by the page's
Content Security Policy, so nothing tried to reach the network), the sections in the DOM, and it
renders to a screenshot and prints to a PDF.

Needs the Debian package ``chromium`` (``apt-get install chromium``); skipped when it is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from test_html_report import example_audit, make_audit

from factorlint.reporters import html as html_report


def _chromium():
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (/usr/bin/chromium or `chromium` on PATH): apt-get install chromium"
)
TIMEOUT = 60
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
]
# What Chromium writes to stderr for a console message (console.error, a CSP violation, a failed load):
#   [pid:tid:date:INFO:CONSOLE:0] "Loading the image 'https://...' violates the following Content Security ..."
CONSOLE = re.compile(r":CONSOLE[:(]|Content Security Policy|Refused to|net::ERR_")
SECTIONS = ["gates", "scorecard", "chart", "security", "plan", "findings", "inventory", "diagnostics", "scoring"]


def chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"  # a fresh profile every run
    profile.mkdir()
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )


def console_errors(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if CONSOLE.search(line)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("html"), "report.html", html_report.render(make_audit(many_findings=30)))


@pytest.fixture(scope="module")
def loaded(report_page, tmp_path_factory) -> subprocess.CompletedProcess:
    result = chromium(tmp_path_factory.mktemp("run"), report_page, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result


# --- the console check, and proof that it catches what it should ---------------------------------

@pytest.mark.parametrize("name, body", [
    ("external-image", '<img src="https://example.invalid/x.png" alt="">'),
    ("console-error", '<script>console.error("negative control")</script>'),
])
def test_the_console_check_catches_a_bad_page(tmp_path, name, body):
    """Negative controls: the report's own page with a network asset or a script added must be caught."""
    page = html_report.render(make_audit()).replace("</main>", f"{body}</main>")
    result = chromium(tmp_path, write(tmp_path, f"{name}.html", page), "--dump-dom")
    errors = console_errors(result)
    assert errors, f"{name}: not detected; stderr:\n{result.stderr[-2000:]}"
    if name == "external-image":
        assert any("example.invalid" in line for line in errors)


def test_the_console_check_catches_a_console_error_without_a_policy(tmp_path):
    page = "<!DOCTYPE html><title>t</title><script>console.error('negative control')</script>"
    errors = console_errors(chromium(tmp_path, write(tmp_path, "plain.html", page), "--dump-dom"))
    assert any("negative control" in line for line in errors)


def test_the_report_loads_without_console_errors(loaded):
    assert console_errors(loaded) == []


def test_the_example_project_report_loads_without_console_errors(tmp_path):
    page = write(tmp_path, "example.html", html_report.render(example_audit()))
    result = chromium(tmp_path, page, "--dump-dom")
    assert result.returncode == 0 and console_errors(result) == []
    assert all(f'id="{ident}"' in result.stdout for ident in SECTIONS)


# --- the DOM -------------------------------------------------------------------------------------

def test_the_dom_has_every_section(loaded):
    dom = loaded.stdout
    positions = [dom.find(f'id="{ident}"') for ident in SECTIONS]
    assert -1 not in positions, dict(zip(SECTIONS, positions, strict=False))
    assert positions == sorted(positions)
    assert 'id="findings-F08"' in dom and 'id="inv-tools"' in dom


def test_scanned_code_stays_text_in_the_dom(loaded):
    dom = loaded.stdout
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


# --- screenshot and print ------------------------------------------------------------------------

def test_the_report_renders_to_a_screenshot(report_page, tmp_path):
    shot = tmp_path / "report.png"
    result = chromium(tmp_path, report_page, "--window-size=1280,2000", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 20_000  # a page with text and a chart, not a blank one
    assert console_errors(result) == []


def test_the_report_prints_to_pdf(report_page, tmp_path):
    pdf = tmp_path / "report.pdf"
    result = chromium(tmp_path, report_page, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert result.returncode == 0, result.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    # The print stylesheet starts the fix plan, the findings and the inventory on new pages.
    assert pages >= 4, pages
    assert console_errors(result) == []
