"""The header stage: one walk over every element, at every depth, through an element source.

:func:`clean_header` is the walk; :mod:`.sources` holds the two element
sources it reads through (raw bytes, pydicom datasets), each behind the
interface in :mod:`.sources.base`; :mod:`.codes` says which text of a code
item is not the standard's, and so is cleaned wherever the profile keeps it.
"""

from .codes import code_text, is_public_scheme, is_standard_meaning
from .sources.base import Declined, ElementSource, HeaderError, Items, NewValue, Piece, Written
from .walk import act, clean_header, decide, dummies_inside

__all__ = ["Declined", "ElementSource", "HeaderError", "Items", "NewValue", "Piece", "Written",
           "act", "clean_header", "code_text", "decide", "dummies_inside", "is_public_scheme", "is_standard_meaning"]
