"""``miredo-opt``: xdsl-opt with miredo's dialects, an ONNX frontend and mlir-opt-style pass flags.

Everything xdsl-opt accepts works (``-p``, ``--split-input-file``,
``--verify-diagnostics``, ``--print-op-generic``, ``-o``, stdin). In addition a
registered pass can be given as a flag, ``--miredo-dataflow`` or
``--miredo-dataflow="arch=table4 objective=edp"``, and a ``.onnx`` file is
imported into the ``nest`` dialect.

``--emit=asm|json`` writes the ``cim.program`` ops of the result as flat
per-stream instruction lists (``miredo.tools.cim_emit``) instead of the IR;
``--emit=asm-loops|json-loops`` keeps the loops (the structured encoding).
"""

import argparse
import re
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp
from xdsl.xdsl_opt_main import xDSLOptMain

from miredo.errors import MiredoError
from miredo.tools.errors import run_reporting_errors
from miredo.tools.output import DeferredOutput

if TYPE_CHECKING:
    from miredo.tools.cim_emit import AtomicTextFile

_PASS_FLAG = re.compile(r"--([A-Za-z][\w-]*)(?:=(.*)|(\{.*\}))?", re.S)


def split_pass_flags(
    argv: Sequence[str], pass_names: set[str]
) -> tuple[list[str], list[str]]:
    """Split mlir-opt-style pass flags off ``argv``.

    Returns the pipeline entries (``name{opts}``) in command-line order and the
    remaining arguments for the ordinary argument parser.
    """
    passes: list[str] = []
    rest: list[str] = []
    for arg in argv:
        m = _PASS_FLAG.fullmatch(arg)
        if m and m[1] in pass_names:
            opts = m[2] if m[2] is not None else (m[3] or "{}")[1:-1]
            opts = opts.strip()
            if len(opts) >= 2 and opts[0] == opts[-1] == '"':
                opts = opts[1:-1]
            passes.append(f"{m[1]}{{{opts}}}" if opts else m[1])
        else:
            rest.append(arg)
    return passes, rest


class MiredoOptMain(xDSLOptMain):
    """The ``miredo-opt`` driver."""

    flag_passes: list[str]

    def __init__(self, args: Sequence[str] | None = None):
        from xdsl.universe import Universe

        argv = list(sys.argv[1:] if args is None else args)
        names = set(Universe.get_multiverse().all_passes)
        self.flag_passes, rest = split_pass_flags(argv, names)
        super().__init__(description="miredo optimizer driver", args=rest)

    def register_all_dialects(self) -> None:
        # The xdsl.universe entry point normally provides our dialects; register
        # them here only when it does not (e.g. running from a source tree).
        super().register_all_dialects()
        from miredo.dialects import get_all_dialects

        for name, factory in get_all_dialects().items():
            if name not in self.ctx.registered_dialect_names:
                self.ctx.register_dialect(name, factory)

    def register_all_passes(self) -> None:
        super().register_all_passes()
        from miredo.passes import get_all_passes

        for name, factory in get_all_passes().items():
            self.available_passes.setdefault(name, factory)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def parse_onnx(io: IO[bytes]) -> ModuleOp:
            from miredo.frontends.onnx import import_onnx_bytes

            return import_onnx_bytes(
                io.read(),
                self.get_input_name(),
                self.ctx,
                inline_weights=self.args.inline_weights,
            )

        self.available_frontends["onnx"] = parse_onnx

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        from miredo.tools.errors import one_line_usage_errors

        arg_parser.prog = "miredo-opt"
        one_line_usage_errors(arg_parser)
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--inline-weights",
            action="store_true",
            help="print every weight of an imported ONNX model inline as dense<...> "
            "(by default large weights are referenced by name from the source model)",
        )
        arg_parser.add_argument(
            "--emit",
            choices=("asm", "json", "asm-loops", "json-loops"),
            default=None,
            help="instead of the IR, write every cim.program as per-stream "
            "instruction lists (asm: one line per dynamic instruction; json; "
            "asm-loops, json-loops: structured, keeping loops and branches, with "
            "affine offsets over the loop counters)",
        )

    def prepare_output(self) -> IO[str]:
        if self.args.output_file is None:
            self._stream: IO[str] = sys.stdout
            return sys.stdout
        # Written only once the whole run succeeded: no half-written files. An
        # emission can be large, so it streams into a temporary file instead.
        if self.args.emit is not None:
            from miredo.tools.cim_emit import AtomicTextFile

            self._deferred = AtomicTextFile(self.args.output_file)
        else:
            self._deferred = DeferredOutput(self.args.output_file)
        self._stream = self._deferred  # pyright: ignore[reportAttributeAccessIssue]
        return self._stream

    def output_resulting_program(self, prog: ModuleOp) -> str:
        if self.args.emit is None:
            return super().output_resulting_program(prog)
        from miredo.tools.cim_emit import emit

        emit(prog, self.args.emit, self._stream)
        return ""

    def run(self) -> None:
        self._deferred: DeferredOutput | AtomicTextFile | None = None
        try:
            super().run()
        except BaseException:
            discard = getattr(self._deferred, "discard", None)
            if discard is not None:  # an AtomicTextFile: drop the partial output
                discard()
            raise
        if self._deferred is not None:
            self._deferred.commit()

    def setup_pipeline(self) -> None:
        self.args.passes = ",".join(
            p for p in (self.args.passes, *self.flag_passes) if p
        )
        self._check_flag_options()
        try:
            super().setup_pipeline()
        except ValueError as e:  # xDSL reports bad pass options as ValueError
            raise MiredoError(f"bad pass options: {e}") from e

    def _check_flag_options(self) -> None:
        """Name the option of a mlir-opt-style pass flag that has no value or a
        value of the wrong type (xDSL's own message names neither)."""
        import dataclasses
        import typing

        for spec in self.flag_passes:
            name, _, body = spec.partition("{")
            factory = self.available_passes.get(name)
            if factory is None or not body:
                continue
            pass_cls = factory()
            hints = typing.get_type_hints(pass_cls)
            fields = {f.name for f in dataclasses.fields(pass_cls)}
            for item in body.rstrip("}").split():
                key, eq, value = item.partition("=")
                field = key.replace("-", "_")
                where = f"--{name} option '{key}'"
                if field not in fields:
                    continue  # xDSL reports unknown options itself
                if not eq or not value:
                    raise MiredoError("expects a value (name=value)", where)
                kinds = typing.get_args(hints[field]) or (hints[field],)
                if str in kinds or bool in kinds:
                    continue
                try:
                    float(value) if float in kinds else int(value)
                except ValueError:
                    kind = "a number" if float in kinds else "an integer"
                    raise MiredoError(f"expects {kind}, got '{value}'", where) from None


def main(args: Sequence[str] | None = None) -> None:
    """Console entry point."""
    run_reporting_errors(lambda: MiredoOptMain(args).run(), tool="miredo-opt")


if __name__ == "__main__":
    main()
