"""Atomic output: a file is either fully written or not touched at all."""

import os
import tempfile
from io import StringIO
from pathlib import Path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
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
