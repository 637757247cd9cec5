"""Atomic output: a file is either fully written or not touched at all."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

from miredo.errors import MiredoError


def open_temporary(target: Path) -> tuple[int, str]:
    """A temporary file next to ``target`` (errors name ``target``, not the
    temporary file)."""
    directory = target.parent if str(target.parent) else Path(".")
    try:
        if target.is_dir():
            raise MiredoError("is a directory, expected a file", str(target))
        if len(target.name.encode()) > 255:
            raise OSError(36, "File name too long")
        return tempfile.mkstemp(prefix=f".{target.name[:100]}.", dir=directory)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        if isinstance(e, FileNotFoundError):
            reason = "no such directory"
        raise MiredoError(f"cannot write: {reason.lower()}", str(target)) from e


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    target = Path(path)
    fd, tmp = open_temporary(target)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise MiredoError(
            f"cannot write: {(e.strerror or type(e).__name__).lower()}", str(target)
        ) from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DeferredOutput(StringIO):
    """A text buffer whose ``close`` keeps the content; ``commit`` writes it atomically."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def close(self) -> None:  # the driver closes its stream even on failure
        pass

    def commit(self) -> None:
        atomic_write_text(self.path, self.getvalue())
        super().close()


@contextmanager
def staged_directory(
    outdir: str | os.PathLike[str], prefix: str
) -> Iterator[tuple[Path, list[Path]]]:
    """Write a directory's outputs all or nothing: yields a staging directory
    inside ``outdir`` (created if needed) and a list that, on success, receives
    the paths the staged files were moved to; the staging directory is removed
    either way."""
    out = Path(outdir)
    try:
        if out.exists() and not out.is_dir():
            raise MiredoError("exists and is not a directory", str(out))
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        reason = (e.strerror or type(e).__name__).lower()
        raise MiredoError(
            f"cannot create the output directory: {reason}", str(out)
        ) from e
    if not os.access(out, os.W_OK):
        raise MiredoError("output directory is not writable", str(out))
    stage = Path(tempfile.mkdtemp(prefix=prefix, dir=out))
    written: list[Path] = []
    try:
        yield stage, written
        for item in sorted(stage.iterdir()):
            target = out / item.name
            os.replace(item, target)
            written.append(target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
