"""An xDSL context that knows every dialect miredo's files use (lazily loaded)."""

from xdsl.context import Context


def full_context() -> Context:
    """xDSL's dialects plus miredo's, registered lazily."""
    from xdsl.universe import Universe

    from miredo.dialects import get_all_dialects

    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    for name, factory in get_all_dialects().items():
        if name not in ctx.registered_dialect_names:
            ctx.register_dialect(name, factory)
    return ctx
