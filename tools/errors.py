"""One-line error reporting shared by all console tools."""

import argparse
import os
import sys
import types
from collections.abc import Callable
from typing import NoReturn

from miredo.errors import MiredoError


def _fail(line: str, code: int = 1) -> NoReturn:
    sys.stdout.flush()
    print(line.replace("\n", " "), file=sys.stderr)
    raise SystemExit(code)


def _first_line(text: str) -> str:
    return next((s.strip() for s in text.splitlines() if s.strip()), text.strip())


def run_reporting_errors(body: Callable[[], object], tool: str) -> None:
    """Run ``body``; turn every user-facing failure into one line and a non-zero exit.

    Set ``MIREDO_TRACEBACK=1`` to get the Python traceback of unexpected errors.
    """
    from xdsl.utils.exceptions import (
        ArgSpecParseError,
        DiagnosticException,
        ParseError,
    )

    try:
        body()
    except MiredoError as e:
        _fail(f"{tool}: {e}")
    except ParseError as e:
        loc = e.span.get_location()
        _fail(f"{tool}: {loc.file}:{loc.line}:{loc.col}: error: {_first_line(e.msg)}")
    except DiagnosticException as e:
        _fail(f"{tool}: error: {_first_line(str(e))}")
    except ArgSpecParseError as e:
        _fail(f"{tool}: error: bad pass pipeline: {' '.join(str(e).split())}")
    except FileNotFoundError as e:
        _fail(f"{tool}: {e.filename}: error: no such file")
    except IsADirectoryError as e:
        _fail(f"{tool}: {e.filename}: error: is a directory, expected a file")
    except PermissionError as e:
        _fail(f"{tool}: {e.filename}: error: permission denied")
    except KeyboardInterrupt:
        _fail(f"{tool}: interrupted", 130)
    except SystemExit:
        raise
    except Exception as e:
        if os.environ.get("MIREDO_TRACEBACK"):
            raise
        msg = _first_line(str(e)) or type(e).__name__
        _fail(
            f"{tool}: internal error: {type(e).__name__}: {msg} "
            "(set MIREDO_TRACEBACK=1 for details and please report it)",
            2,
        )


def one_line_usage_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` report a bad argument as one line (no usage block)."""

    def error(self: argparse.ArgumentParser, message: str) -> NoReturn:
        _fail(f"{self.prog}: error: {message} (see --help)", 2)

    parser.error = types.MethodType(error, parser)  # type: ignore[method-assign]
    return parser
