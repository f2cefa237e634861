"""The header stage: one walk over every element, at every depth, through an element source.

:func:`clean_header` is the walk; :mod:`.sources` holds the two element
sources it reads through (raw bytes, pydicom datasets), each behind the
interface in :mod:`.sources.base`.
"""

from .sources.base import Declined, ElementSource, HeaderError, Items, NewValue, Piece, Written
from .walk import act, clean_header, decide, dummies_inside, is_public_scheme

__all__ = ["Declined", "ElementSource", "HeaderError", "Items", "NewValue", "Piece", "Written", "act",
           "clean_header", "decide", "dummies_inside", "is_public_scheme"]
