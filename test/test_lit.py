"""Run the lit/FileCheck suite from pytest, so that one command runs every test."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEST_DIR = Path(__file__).parent


@pytest.mark.skipif(
    shutil.which("miredo-opt") is None, reason="miredo-opt not installed"
)
def test_lit_suite() -> None:
    lit = [sys.executable, "-m", "lit"] if shutil.which("lit") is None else ["lit"]
    proc = subprocess.run(
        [*lit, "-sv", "-j2", str(TEST_DIR / "filecheck")],
        capture_output=True,
        text=True,
        check=False,
    )
    report = proc.stdout + proc.stderr
    assert "Failed" not in report or proc.returncode == 0, report
    assert proc.returncode == 0, report
    assert "Passed" in report, report
