"""The xDSL plugin entry point: lets plain ``xdsl-opt`` see miredo's dialects and passes."""

from xdsl.universe import Universe

from miredo.dialects import get_all_dialects
from miredo.passes import get_all_passes

MIREDO_UNIVERSE = Universe(
    all_dialects=get_all_dialects(),
    all_passes=get_all_passes(),
)
