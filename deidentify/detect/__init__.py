"""Detectors of identifying text in free-text DICOM values.

Pattern detectors (phone, e-mail, national identifiers, dates, person names,
street addresses) need nothing but the text; :class:`OwnValuesDetector` looks for the values a dataset
itself carries.  :func:`scrub` runs any set of them and blanks what they find.
"""

from .address import AddressDetector
from .base import Detector, Finding
from .dates import DateDetector, DateSpan, iter_dates
from .email import EmailDetector
from .national_id import (
    AadhaarDetector,
    NhsDetector,
    NirDetector,
    SinDetector,
    SsnDetector,
    ZaIdDetector,
    is_valid_aadhaar,
    is_valid_nhs,
    is_valid_nir,
    is_valid_sin,
    is_valid_ssn,
    is_valid_za_id,
    make_aadhaar,
    make_nhs,
    make_nir,
    make_sin,
    make_ssn,
    make_za_id,
)
from .own_values import KINDS as OWN_VALUE_KINDS
from .own_values import OwnValuesDetector
from .person_names import PersonNameDetector
from .phone import PhoneDetector
from .text import default_detectors, scrub

__all__ = [
    "AadhaarDetector",
    "AddressDetector",
    "DateDetector",
    "DateSpan",
    "Detector",
    "EmailDetector",
    "Finding",
    "NhsDetector",
    "NirDetector",
    "OWN_VALUE_KINDS",
    "OwnValuesDetector",
    "PersonNameDetector",
    "PhoneDetector",
    "SinDetector",
    "SsnDetector",
    "ZaIdDetector",
    "default_detectors",
    "is_valid_aadhaar",
    "is_valid_nhs",
    "is_valid_nir",
    "is_valid_sin",
    "is_valid_ssn",
    "is_valid_za_id",
    "iter_dates",
    "make_aadhaar",
    "make_nhs",
    "make_nir",
    "make_sin",
    "make_ssn",
    "make_za_id",
    "scrub",
]
