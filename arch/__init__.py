"""Hardware description files shipped with miredo (``<name>.yaml``)."""
