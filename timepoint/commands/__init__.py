"""CLI sub-commands. Each module exposes ``register(parser)`` which adds its arguments and sets
``handler`` (a function of the parsed args returning an exit code)."""
