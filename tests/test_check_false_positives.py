"""How often the pattern detectors fire on what does not identify anyone: measured, stated, bounded.

* Random digit strings: a checksum detector reports exactly the strings its
  validator accepts, so its false-positive rate is the scheme's (about 1 in
  10 for Luhn and Verhoeff, 1 in 11 for NHS, 1 in 100 for NIR, less where
  dates and prefixes are checked); bare nine-digit strings are never an SSN.
* pydicom's bundled test files, raw: a finding is a false positive when it
  lies in an element the basic profile keeps and does not overlap any of the
  file's own identifying values.  Measured (150 files, 1843 kept free-text
  elements, 161 hits): person names 0 of 149 hits, phones 0, e-mails 0,
  national IDs 0, dates 3 (build dates in SoftwareVersions, 0.16 %),
  addresses 4 in 2 elements (a coding scheme organisation's street address,
  0.22 %).

Run with ``-s`` to see the measured rates.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deidentify.checker.scanners.base import FileContext
from deidentify.checker.scanners.conformance import ConformanceScanner
from deidentify.detect import (
    AadhaarDetector,
    NhsDetector,
    NirDetector,
    OwnValuesDetector,
    SinDetector,
    SsnDetector,
    ZaIdDetector,
    default_detectors,
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
    scrub,
)
from deidentify.plan import RuleBook
from deidentify.profile import load_profile
from deidentify.source import SourceError, parse_source, quiet_pydicom, walk

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

# detector, validator, length, upper bound on the share of random strings reported
CHECKSUMS = {
    "uk-nhs": (NhsDetector, is_valid_nhs, 10, 0.10),
    "in-aadhaar": (AadhaarDetector, is_valid_aadhaar, 12, 0.09),
    "za-id": (ZaIdDetector, is_valid_za_id, 13, 0.003),
    "fr-nir": (NirDetector, is_valid_nir, 15, 0.007),
    "ca-sin": (SinDetector, is_valid_sin, 9, 0.09),
}
GENERATORS = [make_ssn, make_nhs, make_aadhaar, make_za_id, make_nir, make_sin]


@pytest.mark.parametrize("kind", list(CHECKSUMS))
def test_checksum_detector_reports_exactly_what_its_validator_accepts(kind: str) -> None:
    detector_class, validator, length, bound = CHECKSUMS[kind]
    detector, rng = detector_class(), random.Random(f"rate-{kind}")
    samples, reported = 20_000, 0
    for _ in range(samples):
        digits = f"{rng.randrange(10 ** length):0{length}d}"
        found = [f for f in detector.find(f"ref {digits} end") if f.kind == kind]
        assert bool(found) == validator(digits), digits
        reported += bool(found)
    rate = reported / samples
    print(f"\n{kind}: {rate:.4f} of random {length}-digit strings reported")
    assert 0 < rate < bound


def test_a_bare_nine_digit_string_is_an_ssn_only_with_its_label() -> None:
    rng, detector = random.Random("ssn"), SsnDetector()
    numbers = [f"{rng.randrange(10 ** 9):09d}" for _ in range(5_000)]
    assert not any(list(detector.find(f"ref {n} end")) for n in numbers)
    labelled = sum(bool(list(detector.find(f"SSN {n}"))) for n in numbers) / len(numbers)
    valid = sum(map(is_valid_ssn, numbers)) / len(numbers)
    print(f"\nus-ssn: {labelled:.4f} of random labelled 9-digit strings reported ({valid:.4f} valid)")
    assert labelled == valid


@settings(max_examples=120, deadline=None)
@given(rng=st.randoms(use_true_random=False), make=st.sampled_from(GENERATORS),
       before=st.sampled_from(["Patient", "Billing ref", "ID:", "see"]))
def test_every_generated_number_is_scrubbed_from_free_text(rng: random.Random, make, before: str) -> None:
    number = make(rng)
    label = "SSN " if make is make_ssn else ""
    text = f"{before} {label}{number}, CT chest with contrast."
    cleaned, findings = scrub(text, default_detectors())
    assert number not in cleaned and findings
    assert cleaned.endswith(", CT chest with contrast.")


def _pydicom_false_positives() -> tuple[int, Counter[str], Counter[str]]:
    """(kept free-text elements, hits per kind, false positives per kind) over pydicom's test files."""
    rules, detectors = RuleBook(load_profile("basic")), default_detectors()
    kept_elements, hits, false = 0, Counter(), Counter()
    with quiet_pydicom():
        for path in walk(PYDICOM_FILES):
            try:
                ds = parse_source(path.read_bytes()).dataset
            except SourceError:
                continue
            context = FileContext(path.name, b"", ds, rules)
            flagged = {f.element for f in ConformanceScanner().scan(context)}
            own = OwnValuesDetector.from_dataset(ds)
            for element in context.elements:
                if not element.free or not element.text or element.path == "(path)":
                    continue
                kept = element.path not in flagged and not any(element.path.startswith(f + "[") for f in flagged)
                kept_elements += kept
                mine = [(o.start, o.end) for o in own.find(element.text)]
                for finding in {f for d in detectors for f in d.find(element.text)}:
                    hits[finding.kind] += 1
                    if kept and not any(a < finding.end and finding.start < b for a, b in mine):
                        false[finding.kind] += 1
    return kept_elements, hits, false


def test_false_positive_rate_over_pydicoms_test_files() -> None:
    kept, hits, false = _pydicom_false_positives()
    print(f"\n{kept} kept free-text elements; hits / false positives per detector:")
    for kind in sorted(hits):
        print(f"  {kind:12s} {hits[kind]:4d} hits, {false[kind]:3d} false ({false[kind] / kept:.3%})")
    assert kept > 1500 and hits["person-name"] > 50
    assert false["person-name"] / kept <= 0.005
    assert all(false[k] / kept <= 0.005 for k in hits)
    assert sum(false.values()) / kept <= 0.01
