"""miredo's passes, one per file, registered lazily."""

from collections.abc import Callable

from xdsl.passes import ModulePass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Return the pass factories keyed by kebab-case pass name."""

    def get_miredo_dataflow() -> type[ModulePass]:
        from miredo.passes.miredo_dataflow import MiredoDataflowPass

        return MiredoDataflowPass

    return {"miredo-dataflow": get_miredo_dataflow}
