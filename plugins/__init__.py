"""Built-in analysis plugins, one module each (see :mod:`core.plugin` for the contract)."""
