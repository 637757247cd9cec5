"""miredo's dialects, registered lazily so that tools start fast."""

from collections.abc import Callable

from xdsl.ir import Dialect


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """Return the dialect factories keyed by dialect name."""

    def get_nest() -> Dialect:
        from miredo.dialects.nest import Nest

        return Nest

    def get_cim() -> Dialect:
        from miredo.dialects.cim import Cim

        return Cim

    return {"nest": get_nest, "cim": get_cim}
