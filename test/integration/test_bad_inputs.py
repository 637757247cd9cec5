"""Bad inputs through the console tools: one clear line, a failure, no output.

Every case of the generated corpus (``test/corpus/cases.py``) runs one of
``miredo-opt``, ``miredo-compile`` or ``miredo-sim`` on inputs written into the
case's own directory and checks what a user sees:

* a non-zero exit code;
* stderr is exactly one non-empty line (a trailing newline aside) that contains
  the case's expected fragments (the file, ONNX node, op or YAML field) and is
  not an "internal error";
* no Python traceback on stdout or stderr;
* nothing on disk changed: the ``-o`` file or OUTDIR was not created or modified
  and no staging directory or temporary file was left behind (the whole case
  directory is compared before and after).

The tools run in-process (``main(argv)``, catching ``SystemExit``) for speed;
the cases marked ``real`` run the installed console scripts in a subprocess to
show that the in-process harness matches reality.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import os
import subprocess
import sys
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus.cases import CASES, Case, Env, compile_reference

TOOLS = {
    "opt": ("miredo.tools.miredo_opt", "miredo-opt"),
    "compile": ("miredo.tools.miredo_compile", "miredo-compile"),
    "sim": ("miredo.tools.miredo_sim", "miredo-sim"),
}


def test_corpus_size() -> None:
    """The corpus covers every category with the intended number of cases."""
    counts = Counter(c.category for c in CASES)
    minimum = {
        "corrupt-onnx": 40,
        "unsupported-op": 15,
        "dynamic-shape": 10,
        "zero-negative-dim": 10,
        "initializer-shape": 10,
        "cyclic-graph": 5,
        "undefined-tensor": 5,
        "hardware-yaml": 60,
        "malformed-ir": 25,
        "unwritable-output": 8,
        "solver-options": 10,
        "sim-outdir": 10,
    }
    assert set(counts) == set(minimum)
    for category, n in minimum.items():
        assert counts[category] >= n, (category, counts[category])
    assert len(CASES) >= 220
    assert 4 <= sum(c.real for c in CASES) <= 8


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """A valid compile output directory, made on first use."""
    made: list[Path] = []

    def get() -> Path:
        if not made:
            made.append(compile_reference(tmp_path_factory.mktemp("reference")))
        return made[0]

    return get


@pytest.fixture(scope="module", autouse=True)
def collect_leftovers() -> Iterator[None]:
    """Finalize what failed in-process runs left open (e.g. an input stream) as
    a console script would at exit: silently, not as pytest warnings."""
    yield
    with python_default_warnings():
        gc.collect()


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` with a digest of each file's content."""
    entries: dict[str, str] = {}
    for dirpath, _, filenames in os.walk(root, onerror=lambda e: None):
        rel = os.path.relpath(dirpath, root)
        entries[rel + "/"] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    entries[os.path.join(rel, name)] = hashlib.sha256(
                        f.read()
                    ).hexdigest()
            except OSError:
                entries[os.path.join(rel, name)] = "unreadable"
    return entries


@contextlib.contextmanager
def python_default_warnings() -> Iterator[None]:
    """Warnings as a console script sees them (not pytest's 'error' filter)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (
            DeprecationWarning,
            PendingDeprecationWarning,
            ImportWarning,
            ResourceWarning,
        ):
            warnings.simplefilter("ignore", category)
        yield


def run_in_process(
    tool: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    main = importlib.import_module(TOOLS[tool][0]).main
    code = 0
    extra = ""
    with python_default_warnings():
        try:
            main(argv)
        except SystemExit as e:
            if isinstance(e.code, str):
                code, extra = 1, e.code + "\n"
            else:
                code = e.code or 0
        except BaseException:  # what the console script would show
            code, extra = 1, traceback.format_exc()
    out, err = capsys.readouterr()
    return code, out, err + extra


def run_script(tool: str, argv: list[str], cwd: Path) -> tuple[int, str, str]:
    script = Path(sys.executable).parent / TOOLS[tool][1]
    env = {k: v for k, v in os.environ.items() if k != "MIREDO_TRACEBACK"}
    done = subprocess.run(
        [str(script), *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


def _param(c: Case):
    marks = [pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name longer than the file system allows
        return False


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(
    case: Case,
    tmp_path: Path,
    compiled: Callable[[], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = tmp_path / "case"
    d.mkdir()
    run = case.make(Env(d, compiled))
    if run.skip:
        pytest.skip(run.skip)
    output_existed = run.output is not None and _exists(run.output)
    before = snapshot(d)
    try:
        if case.real:
            code, out, err = run_script(case.tool, run.argv, d)
            mirrored = run_in_process(case.tool, run.argv, capsys)
        else:
            code, out, err = run_in_process(case.tool, run.argv, capsys)
        after = snapshot(d)
    finally:
        for p in [d, *d.rglob("*")]:  # undo chmods so that tmp_path can be removed
            with contextlib.suppress(OSError):
                p.chmod(0o755 if p.is_dir() else 0o644)

    shown = f"exit {code}\n--- stdout ---\n{out}--- stderr ---\n{err}"
    if case.real:  # the in-process harness sees what a user sees
        assert mirrored == (code, out, err), f"in-process: {mirrored}\n{shown}"
    assert "Traceback" not in out + err, shown
    assert code != 0, shown
    lines = err.removesuffix("\n").split("\n")
    assert len(lines) == 1 and lines[0].strip(), f"not one line on stderr\n{shown}"
    line = lines[0]
    assert "internal error" not in line, shown
    for fragment in (f.replace("{d}", str(d)) for f in case.expect):
        assert fragment in line, f"{fragment!r} not in the error line\n{shown}"
    if run.output is not None and not output_existed:
        assert not _exists(run.output) or (
            run.output.is_dir() and not any(run.output.iterdir())
        ), f"{run.output} was created\n{shown}"
        # an OUTDIR that was created but left empty is allowed
        for p in [run.output, *run.output.parents]:
            key = os.path.relpath(p, d) + "/"
            if p == d or not p.is_relative_to(d) or key in before:
                break
            after.pop(key, None)
    assert after == before, f"files changed: {set(after) ^ set(before)}\n{shown}"
