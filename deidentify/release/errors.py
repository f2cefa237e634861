"""What goes wrong with a release, under the project's one root error."""

from __future__ import annotations

from ..errors import DeidentifyError


class ReleaseError(DeidentifyError, ValueError):
    """A release cannot be made, packed or read: bad arguments, a key or folder that will not do."""
