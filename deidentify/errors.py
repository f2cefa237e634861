"""The root of every error the library raises on purpose."""


class DeidentifyError(Exception):
    """Every error deidentify raises on purpose derives from this; its message never quotes a value or a path."""
