"""miredo's passes, one per file, registered lazily."""

from collections.abc import Callable

from xdsl.passes import ModulePass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Return the pass factories keyed by kebab-case pass name."""

    def get_miredo_dataflow() -> type[ModulePass]:
        from miredo.passes.miredo_dataflow import MiredoDataflowPass

        return MiredoDataflowPass

    def get_convert_nest_to_cim() -> type[ModulePass]:
        from miredo.passes.convert_nest_to_cim import ConvertNestToCimPass

        return ConvertNestToCimPass

    return {
        "miredo-dataflow": get_miredo_dataflow,
        "convert-nest-to-cim": get_convert_nest_to_cim,
    }
