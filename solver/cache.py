"""A persistent cache of solved layers: an embedded SQLite database.

The key of a solve is the SHA-256 of everything that determines its result: the
layer's canonical signature (dims, strides, dilation, halo extent, operand
relevance), the hardware file's content hash, the objective and the solver
options (mapper, backend, time limit, gap limit, threads, seed) and miredo's
version. The value is the mapping with its solver report; the cost is recomputed
by the evaluator on a hit (cheap, and never stale).

Lowered outputs (``cim.mlir`` and the structured program encodings) are also kept,
keyed by the annotated module's text (:func:`artifact_key`), so a warm compile
skips the lowering too.

The database lives in the user cache directory (``platformdirs``) unless a path is
given. It runs in WAL mode with a busy timeout, so concurrent compiles (processes)
can read and write it safely; a file that is not a valid database is reported on
stderr, moved aside and rebuilt, never fatal.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from miredo.solver.evaluator import evaluate
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.mip import Solution
from miredo.solver.workload import Layer

SCHEMA = 1
"""Bumped whenever the stored format or the meaning of a solve changes."""


def default_cache_path() -> Path:
    """``<user cache dir>/miredo/solutions.sqlite``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("miredo")) / "solutions.sqlite"


@functools.cache
def _version() -> str:
    """miredo's version plus a digest of its source files (``*.py``, ``*.yaml``),
    so that a changed model, solver or lowering never reuses stale entries, even
    in an editable install whose version string does not change."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("miredo")
    except PackageNotFoundError:  # running from a source tree
        v = "dev"
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()

    def add(directory: Path) -> None:
        for path in sorted(directory.iterdir()):
            if path.suffix in (".py", ".yaml") and path.is_file():
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
            elif path.is_dir() and (path / "__init__.py").exists():
                add(path)  # a subpackage (tests and examples are not)

    add(root)
    return f"{v}+{digest.hexdigest()[:16]}"


@dataclass(frozen=True)
class SolveOptions:
    """The options that change a solve's result (part of the cache key)."""

    objective: str = "edp"
    mapper: str = "miredo"
    solver: str = "cpsat"
    time_limit: float = 30.0
    workers: int = 2
    gap_limit: float = 0.01
    seed: int = 0
    deterministic: bool = False


def cache_key(layer: Layer, arch: Arch, options: SolveOptions) -> str:
    """The SHA-256 key of one solve (see the module docstring)."""
    text = json.dumps(
        {
            "schema": SCHEMA,
            "version": _version(),
            "layer": layer.signature(),
            "arch": arch.content_hash,
            "options": options.__dict__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class SolutionCache:
    """Get and put solutions by :func:`cache_key`."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as e:
            aside = self.path.with_name(self.path.name + ".corrupt")
            print(
                f"miredo: {self.path}: warning: the solution cache is unreadable "
                f"({e}); moved it to {aside.name} and starting a new one",
                file=sys.stderr,
            )
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS solutions ("
                "key TEXT PRIMARY KEY, layer TEXT NOT NULL, value TEXT NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS artifacts ("
                "key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            db.execute("SELECT count(*) FROM solutions").fetchone()
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def get(self, key: str, layer: Layer, arch: Arch) -> Solution | None:
        """The cached solution of ``layer`` (renamed to ``layer``'s name), if any."""
        try:
            row = self._db.execute(
                "SELECT value FROM solutions WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.DatabaseError:
            self._db.close()
            self._db = self._open()
            return None
        if row is None:
            return None
        data = json.loads(row[0])
        mapping = Mapping.from_dict(data["mapping"])
        return Solution(
            layer=layer,
            mapping=mapping,
            cost=evaluate(layer, arch, mapping),
            mapper=data["mapper"],
            solver=data["solver"],
            status=data["status"],
            gap=data["gap"],
            wall_time=data["wall_time"],
            variables=data["variables"],
            constraints=data["constraints"],
            solver_objective=data["solver_objective"],
            solver_value=data.get("solver_value"),
            warnings=list(data["warnings"]),
        )

    def put(self, key: str, solution: Solution) -> None:
        value = json.dumps(
            {
                "mapping": solution.mapping.to_dict(),
                "mapper": solution.mapper,
                "solver": solution.solver,
                "status": solution.status,
                "gap": solution.gap,
                "wall_time": solution.wall_time,
                "variables": solution.variables,
                "constraints": solution.constraints,
                "solver_objective": solution.solver_objective,
                "solver_value": solution.solver_value,
                "warnings": solution.warnings,
            },
            sort_keys=True,
        )
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO solutions (key, layer, value) VALUES (?, ?, ?)",
                (key, solution.layer.signature(), value),
            )

    def get_artifacts(self, key: str) -> dict[str, str] | None:
        """Compile outputs stored under ``key`` (see :func:`artifact_key`)."""
        try:
            row = self._db.execute(
                "SELECT value FROM artifacts WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.DatabaseError:
            return None
        return None if row is None else json.loads(row[0])

    def put_artifacts(self, key: str, files: dict[str, str]) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO artifacts (key, value) VALUES (?, ?)",
                (key, json.dumps(files)),
            )

    def close(self) -> None:
        self._db.close()


def artifact_key(annotated: str, arch: Arch) -> str:
    """The key of the outputs lowered from an annotated module: its text, the
    hardware file's content and miredo's version determine them."""
    text = json.dumps(
        {
            "schema": SCHEMA,
            "version": _version(),
            "arch": arch.content_hash,
            "module": hashlib.sha256(annotated.encode()).hexdigest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()
