"""E-mail addresses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .base import Finding

# \w rather than ASCII classes so internationalised addresses (jürgen@müller.de) are
# found too; a trailing sentence dot is never part of the domain because every
# dot must be followed by another label.
_EMAIL = re.compile(
    r"""
    (?<![\w.%+-])
    [\w%+-]+(?:\.[\w%+-]+)*
    @
    (?:[^\W_](?:[\w-]*[^\W_])?\.)+
    [^\W\d_]{2,}
    (?![\w-])
    """,
    re.VERBOSE,
)


class EmailDetector:
    """Finds e-mail addresses; reports them with kind ``"email"``."""

    kind = "email"

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each e-mail address in ``text``."""
        for match in _EMAIL.finditer(text):
            yield Finding(match.start(), match.end(), self.kind)
