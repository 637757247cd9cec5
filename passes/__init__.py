"""miredo's passes, one per file, registered lazily."""

from collections.abc import Callable

from xdsl.passes import ModulePass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Return the pass factories keyed by kebab-case pass name."""
    return {}
