"""National identifier validators, generators and detectors.

The false-acceptance tests feed uniformly random digit strings of the right
length to each validator and compare the acceptance rate with what the rules
predict, within five standard deviations of a binomial count.
"""

import calendar
import math
import random
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import verhoeff

from deidentify.detect import (
    AadhaarDetector,
    NhsDetector,
    NirDetector,
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
from deidentify.detect import national_id as nid

# (validator, generator, detector, compact length, grouping used in print)
SCHEMES = {
    "us-ssn": (is_valid_ssn, make_ssn, SsnDetector, 9, (3, 2, 4)),
    "uk-nhs": (is_valid_nhs, make_nhs, NhsDetector, 10, (3, 3, 4)),
    "in-aadhaar": (is_valid_aadhaar, make_aadhaar, AadhaarDetector, 12, (4, 4, 4)),
    "za-id": (is_valid_za_id, make_za_id, ZaIdDetector, 13, (6, 4, 3)),
    "fr-nir": (is_valid_nir, make_nir, NirDetector, 15, (1, 2, 2, 2, 3, 3, 2)),
    "ca-sin": (is_valid_sin, make_sin, SinDetector, 9, (3, 3, 3)),
}
CHECKSUMMED = ["uk-nhs", "in-aadhaar", "za-id", "fr-nir", "ca-sin"]


def grouped(number: str, layout: tuple[int, ...], sep: str) -> str:
    parts, position = [], 0
    for size in layout:
        parts.append(number[position : position + size])
        position += size
    return sep.join(parts)


def found(detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in sorted(detector.find(text))]


# --- known numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "validator, number, valid",
    [
        (is_valid_ssn, "123456789", True),
        (is_valid_ssn, "000456789", False),
        (is_valid_ssn, "666456789", False),
        (is_valid_ssn, "900456789", False),
        (is_valid_ssn, "999456789", False),
        (is_valid_ssn, "123006789", False),
        (is_valid_ssn, "123450000", False),
        (is_valid_ssn, "12345678", False),
        (is_valid_nhs, "9434765919", True),
        (is_valid_nhs, "9434765918", False),
        (is_valid_nhs, "943476591", False),
        (is_valid_za_id, "8001015009087", True),
        (is_valid_za_id, "8001015009088", False),
        (is_valid_za_id, "8013015009083", False),  # month 13
        (is_valid_za_id, "0002295009084", True),  # 29 Feb 2000
        (is_valid_za_id, "0102295009082", False),  # 29 Feb 2001/1901
        (is_valid_nir, "295109912611193", True),
        (is_valid_nir, "295109912611199", False),
        (is_valid_nir, "253072B07300470", True),
        (is_valid_nir, "253072A07300443", True),
        (is_valid_nir, "253072a07300443", True),
        (is_valid_nir, "253072C07300443", False),
        (is_valid_nir, "595109912611193", False),  # sex digit 5
        (is_valid_sin, "130692544", True),
        (is_valid_sin, "130692545", False),
        (is_valid_sin, "046454286", False),  # Luhn-valid, but 0 is never issued
        (is_valid_aadhaar, "123456789010", False),  # Verhoeff-valid, but starts with 1
        (is_valid_aadhaar, "023456789014", False),  # Verhoeff-valid, but starts with 0
        (is_valid_nhs, "94347659l9", False),
        (is_valid_nhs, "９４３４７６５９１９", False),  # full-width digits are not compact
    ],
)
def test_known_numbers(validator: Callable[[str], bool], number: str, valid: bool) -> None:
    assert validator(number) is valid


@pytest.mark.parametrize("payload, check", [("236", "3"), ("12345", "1"), ("123456789012", "0")])
def test_verhoeff_reference_vectors(payload: str, check: str) -> None:
    # The generators take their check digits from stdnum: it must agree with the published vectors.
    assert verhoeff.calc_check_digit(payload) == check


def test_aadhaar_uses_verhoeff_and_first_digit_rule() -> None:
    number = "23456789012" + verhoeff.calc_check_digit("23456789012")
    assert is_valid_aadhaar(number)
    assert not is_valid_aadhaar(number[:-1] + str((int(number[-1]) + 1) % 10))


# --- generators and detectors (property tests) -----------------------------------------


@pytest.mark.parametrize("kind", list(SCHEMES))
@settings(max_examples=60, deadline=None)
@given(rng=st.randoms(use_true_random=False), sep=st.sampled_from(["", " ", "-"]))
def test_generated_numbers_are_valid_and_found(kind: str, rng: random.Random, sep: str) -> None:
    validator, make, detector, length, layout = SCHEMES[kind]
    number = make(rng)
    assert len(number) == length and validator(number)
    if kind == "fr-nir" and sep == "-":
        sep = "."  # NIR is written with spaces or dots, never dashes
    if kind == "us-ssn" and sep == "":
        text, shown = f"Patient SSN: {number}.", number  # a bare SSN needs its label
    else:
        shown = grouped(number, layout, sep)
        text = f"Identifier {shown} on file."
    findings = list(detector().find(text))
    assert [(text[f.start : f.end], f.kind) for f in findings] == [(shown, kind)]


@pytest.mark.parametrize("kind", CHECKSUMMED)
@settings(max_examples=80, deadline=None)
@given(rng=st.randoms(use_true_random=False), data=st.data())
def test_every_single_digit_error_is_rejected(kind: str, rng: random.Random, data) -> None:
    validator, make, *_ = SCHEMES[kind]
    number = make(rng)
    position = data.draw(st.sampled_from([i for i, c in enumerate(number) if c.isdigit()]))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not validator(number[:position] + digit + number[position + 1 :])


@settings(max_examples=80, deadline=None)
@given(rng=st.randoms(use_true_random=False), data=st.data())
def test_verhoeff_rejects_every_adjacent_transposition(rng: random.Random, data) -> None:
    number = make_aadhaar(rng)
    swappable = [i for i in range(len(number) - 1) if number[i] != number[i + 1]]
    i = data.draw(st.sampled_from(swappable))
    assert not is_valid_aadhaar(number[:i] + number[i + 1] + number[i] + number[i + 2 :])


@settings(max_examples=100, deadline=None)
@given(
    rng=st.randoms(use_true_random=False),
    birth_date=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    sex=st.sampled_from(["F", "M"]),
)
def test_za_id_encodes_the_given_birth_date_and_sex(rng: random.Random, birth_date: date, sex: str) -> None:
    number = make_za_id(rng, birth_date=birth_date, sex=sex)
    assert is_valid_za_id(number)
    assert number[:6] == birth_date.strftime("%y%m%d")
    assert (int(number[6:10]) >= 5000) == (sex == "M")
    assert found(ZaIdDetector(), f"ID {number[:6]} {number[6:10]} {number[10:]}.") == [
        f"{number[:6]} {number[6:10]} {number[10:]}"
    ]


def test_za_id_birth_date_and_sex_are_independent_options() -> None:
    rng = random.Random(3)
    dated = make_za_id(rng, birth_date=date(2000, 2, 29))
    assert is_valid_za_id(dated) and dated.startswith("000229")
    for sex, sequences in (("F", range(0, 5000)), ("M", range(5000, 10000))):
        numbers = [make_za_id(rng, sex=sex) for _ in range(50)]
        assert all(is_valid_za_id(n) and int(n[6:10]) in sequences for n in numbers)
    with pytest.raises(ValueError):
        make_za_id(rng, sex="X")


def test_za_id_without_options_draws_as_before() -> None:
    # Pinned so that adding the options did not change the default numbers.
    assert make_za_id(random.Random(0)) == "6907024876187"
    assert make_za_id(random.Random(1)) == "3710281417189"


# --- false acceptance of random digit strings --------------------------------------------


def _za_date_fraction() -> float:
    """Share of the 10**6 YYMMDD strings that are a date in the 1900s or 2000s."""
    valid = sum(
        max(calendar.monthrange(century + yy, month)[1] for century in (1900, 2000))
        for yy in range(100)
        for month in range(1, 13)
    )
    return valid / 10**6


THEORY = {
    # area 001-899 but 666, group 01-99, serial 0001-9999; no check digit.
    "us-ssn": 898 / 1000 * 99 / 100 * 9999 / 10000,
    # the check digit is determined unless it would be 10 (remainder 1 of 11).
    "uk-nhs": 10 / 11 * 1 / 10,
    # first digit 2-9, Verhoeff check digit.
    "in-aadhaar": 8 / 10 * 1 / 10,
    # valid YYMMDD, citizenship 0/1/2, Luhn check digit.
    "za-id": _za_date_fraction() * 3 / 10 * 1 / 10,
    # sex 1/2/3/4/7/8, month 01-12|20-42|50-99 (85 of 100), 2-digit key.
    "fr-nir": 6 / 10 * 85 / 100 * 1 / 100,
    # first digit not 0/8, Luhn check digit.
    "ca-sin": 8 / 10 * 1 / 10,
}
SAMPLES = {
    "us-ssn": 20_000,
    "uk-nhs": 60_000,
    "in-aadhaar": 60_000,
    "ca-sin": 60_000,
    "za-id": 200_000,
    "fr-nir": 200_000,
}


def false_acceptance(kind: str, samples: int, seed: int = 20240131) -> float:
    validator, _, _, length, _ = SCHEMES[kind]
    rng = random.Random(seed)
    accepted = sum(validator(f"{rng.randrange(10**length):0{length}d}") for _ in range(samples))
    return accepted / samples


@pytest.mark.parametrize("kind", list(THEORY))
def test_false_acceptance_rate_matches_theory(kind: str) -> None:
    samples, expected = SAMPLES[kind], THEORY[kind]
    rate = false_acceptance(kind, samples)
    tolerance = 5 * math.sqrt(expected * (1 - expected) / samples)
    assert abs(rate - expected) < tolerance, (kind, rate, expected)


def test_checksums_reject_most_random_numbers() -> None:
    assert THEORY["uk-nhs"] < 0.091
    assert max(THEORY[k] for k in ("in-aadhaar", "ca-sin")) <= 0.08
    assert THEORY["za-id"] < 0.002
    assert THEORY["fr-nir"] < 0.006


# --- detector behaviour in text ------------------------------------------------------------


def test_bare_nine_digits_are_an_ssn_only_when_labelled() -> None:
    detector = SsnDetector()
    assert found(detector, "ref 123456789 today") == []
    assert found(detector, "SSN 123456789") == ["123456789"]
    assert found(detector, "Social Security Number: 123456789") == ["123456789"]
    assert found(detector, "ss# 123456789") == ["123456789"]
    assert found(detector, "SSN 666456789") == []


def test_ssn_in_grouped_form_needs_no_label() -> None:
    assert found(SsnDetector(), "id 123-45-6789 / 123 45 6789") == ["123-45-6789", "123 45 6789"]
    assert found(SsnDetector(), "id 000-45-6789, 123-00-6789, 123-45-0000") == []


def test_nhs_in_all_layouts() -> None:
    text = "NHS 943 476 5919, 943-476-5919, 9434765919; bad 943 476 5918"
    assert found(NhsDetector(), text) == ["943 476 5919", "943-476-5919", "9434765919"]


def test_mixed_separators_are_not_one_number() -> None:
    assert found(NhsDetector(), "943 476-5919") == []


def test_nir_with_corsican_department() -> None:
    text = "NIR 2 53 07 2B 073 004 70 and 2 53 07 2A 073 004 43."
    assert found(NirDetector(), text) == ["2 53 07 2B 073 004 70", "2 53 07 2A 073 004 43"]


def test_numbers_inside_longer_tokens_are_not_reported() -> None:
    cases = [
        (NhsDetector(), "9434765919"),
        (ZaIdDetector(), "8001015009087"),
        (SinDetector(), "130692544"),
    ]
    for detector, number in cases:
        assert found(detector, f"uid 1.2.840.{number}.1") == []
        assert found(detector, f"x{number}") == []
        assert found(detector, f"7{number}") == []
        assert found(detector, f"{number}5") == []
        assert found(detector, f"({number})") == [number]


def test_clinical_text_has_no_national_ids() -> None:
    text = "CT chest with contrast, 5 mm slices, follow-up in 3 months; DLP 1234.5 mGy*cm"
    for _, _, detector, *_ in SCHEMES.values():
        assert list(detector().find(text)) == []


# --- kinds added with python-stdnum -------------------------------------------------------


def _se_long(n: str) -> str:
    return f"19{n[:6]}-{n[6:]}"  # make_se_personnummer draws births in 1920-1999


# kind: (validator, generator, detector, cue written before the number, usual layouts)
NEW_KINDS: dict[str, tuple] = {
    "de-idnr": (nid.is_valid_de_idnr, nid.make_de_idnr, nid.DeIdnrDetector, "",
                [lambda n: n, lambda n: f"{n[:2]} {n[2:5]} {n[5:8]} {n[8:]}"]),
    "nl-bsn": (nid.is_valid_nl_bsn, nid.make_nl_bsn, nid.NlBsnDetector, "BSN: ",
               [lambda n: n, lambda n: f"{n[:4]}.{n[4:6]}.{n[6:]}", lambda n: f"{n[:3]} {n[3:6]} {n[6:]}"]),
    "be-nn": (nid.is_valid_be_nn, nid.make_be_nn, nid.BeNnDetector, "",
              [lambda n: n, lambda n: f"{n[:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}",
               lambda n: f"{n[:6]} {n[6:9]} {n[9:]}"]),
    "se-personnummer": (nid.is_valid_se_personnummer, nid.make_se_personnummer, nid.SePersonnummerDetector, "",
                        [lambda n: f"{n[:6]}-{n[6:]}", _se_long]),
    "dk-cpr": (nid.is_valid_dk_cpr, nid.make_dk_cpr, nid.DkCprDetector, "CPR-nr. ",
               [lambda n: n, lambda n: f"{n[:6]}-{n[6:]}"]),
    "no-fodselsnummer": (nid.is_valid_no_fodselsnummer, nid.make_no_fodselsnummer, nid.NoFodselsnummerDetector, "",
                         [lambda n: n, lambda n: f"{n[:6]} {n[6:]}"]),
    "es-dni": (nid.is_valid_es_dni, nid.make_es_dni, nid.EsDniDetector, "",
               [lambda n: n, lambda n: f"{n[:8]}-{n[8]}"]),
    "es-nie": (nid.is_valid_es_nie, nid.make_es_nie, nid.EsNieDetector, "",
               [lambda n: n, lambda n: f"{n[0]}-{n[1:8]}-{n[8]}"]),
    "it-codicefiscale": (nid.is_valid_it_codicefiscale, nid.make_it_codicefiscale, nid.ItCodiceFiscaleDetector, "",
                         [lambda n: n]),
    "br-cpf": (nid.is_valid_br_cpf, nid.make_br_cpf, nid.BrCpfDetector, "",
               [lambda n: n, lambda n: f"{n[:3]}.{n[3:6]}.{n[6:9]}-{n[9:]}"]),
    "cn-ric": (nid.is_valid_cn_ric, nid.make_cn_ric, nid.CnRicDetector, "", [lambda n: n]),
    "fi-hetu": (nid.is_valid_fi_hetu, nid.make_fi_hetu, nid.FiHetuDetector, "", [lambda n: n]),
}


def test_every_detector_of_the_module_runs_by_default() -> None:
    # One NationalIdDetector runs them all: one call per text instead of eighteen.
    detector = next(d for d in default_detectors() if isinstance(d, nid.NationalIdDetector))
    assert set(detector.kinds) == set(SCHEMES) | set(NEW_KINDS)
    assert {d.kind for d in nid.DETECTORS} == set(SCHEMES) | set(NEW_KINDS)


@pytest.mark.parametrize(
    "validator, number, valid",
    [  # published examples (stdnum's documentation, the issuers' specimens) and near misses
        (nid.is_valid_de_idnr, "36574261809", True),
        (nid.is_valid_de_idnr, "36574261890", False),
        (nid.is_valid_de_idnr, "36554266806", False),  # two digits repeated
        (nid.is_valid_nl_bsn, "111222333", True),
        (nid.is_valid_nl_bsn, "111252333", False),
        (nid.is_valid_be_nn, "85073003328", True),
        (nid.is_valid_be_nn, "85073003327", False),
        (nid.is_valid_be_nn, "85133003328", False),  # month 13
        (nid.is_valid_se_personnummer, "8803200016", True),
        (nid.is_valid_se_personnummer, "198803200016", True),
        (nid.is_valid_se_personnummer, "8803200015", False),
        (nid.is_valid_se_personnummer, "8802300016", False),  # 30 February
        (nid.is_valid_dk_cpr, "2110625629", True),
        (nid.is_valid_dk_cpr, "5110625629", False),  # day 51
        (nid.is_valid_no_fodselsnummer, "15108695088", True),
        (nid.is_valid_no_fodselsnummer, "15108695077", False),
        (nid.is_valid_es_dni, "54362315K", True),
        (nid.is_valid_es_dni, "54362315k", True),
        (nid.is_valid_es_dni, "54362315Z", False),
        (nid.is_valid_es_nie, "X2482300W", True),
        (nid.is_valid_es_nie, "X2482300A", False),
        (nid.is_valid_it_codicefiscale, "RCCMNL83S18D969H", True),
        (nid.is_valid_it_codicefiscale, "RCCMNL83S18D969A", False),
        (nid.is_valid_it_codicefiscale, "00743110157", False),  # a company's code
        (nid.is_valid_br_cpf, "39053344705", True),
        (nid.is_valid_br_cpf, "39053344704", False),
        (nid.is_valid_cn_ric, "360426199101010071", True),
        (nid.is_valid_cn_ric, "360426199101010072", False),
        (nid.is_valid_cn_ric, "110000199101010072", False),  # a province, not a county (stdnum raises there)
        (nid.is_valid_fi_hetu, "131052-308T", True),
        (nid.is_valid_fi_hetu, "131052-308U", False),
        (nid.is_valid_fi_hetu, "131052-001J", False),  # individual numbers start at 002
        (nid.is_valid_nl_bsn, "１１１２２２３３３", False),  # full-width digits are not compact
    ],
)
def test_known_numbers_of_the_new_kinds(validator: Callable[[str], bool], number: str, valid: bool) -> None:
    assert validator(number) is valid


@pytest.mark.parametrize("kind", list(NEW_KINDS))
@settings(max_examples=40, deadline=None)
@given(rng=st.randoms(use_true_random=False), data=st.data())
def test_new_kinds_are_found_in_their_usual_layouts(kind: str, rng: random.Random, data) -> None:
    validator, make, detector, cue, layouts = NEW_KINDS[kind]
    number = make(rng)
    assert validator(number)
    shown = data.draw(st.sampled_from(layouts))(number)
    text = f"Patient {cue}{shown}, CT chest."
    assert [(text[f.start : f.end], f.kind) for f in detector().find(text)] == [(shown, kind)]
    cleaned, _ = scrub(text, default_detectors())
    assert shown not in cleaned and cleaned.endswith(", CT chest.")


# The schemes whose check catches every change of one digit (and of the check letter).
SINGLE_ERROR_PROOF = ["de-idnr", "nl-bsn", "se-personnummer", "no-fodselsnummer", "es-dni", "es-nie",
                      "cn-ric", "fi-hetu"]


@pytest.mark.parametrize("kind", SINGLE_ERROR_PROOF)
def test_new_kinds_reject_every_single_digit_error(kind: str) -> None:
    validator, make, detector, cue, layouts = NEW_KINDS[kind]
    rng = random.Random(kind)
    for _ in range(10):
        number = make(rng)
        for position, char in enumerate(number):
            if not char.isdigit():
                continue
            for digit in "0123456789".replace(char, ""):
                wrong = number[:position] + digit + number[position + 1 :]
                assert not validator(wrong), (number, wrong)
                assert not list(detector().find(f"Patient {cue}{layouts[0](wrong)}, CT chest.")), wrong


@pytest.mark.parametrize(
    "detector, cue, number",
    [(nid.NlBsnDetector, "BSN", "111222333"), (nid.DkCprDetector, "CPR", "2110625629"),
     (nid.DkCprDetector, "CPR", "211062-5629"), (nid.SePersonnummerDetector, "personnummer", "8803200016")],
)
def test_weak_kinds_need_their_cue(detector, cue: str, number: str) -> None:
    assert found(detector(), f"ref {number} end") == []
    assert found(detector(), f"{cue}: {number}") == [number]
    assert found(detector(), f"{cue.upper()} no. {number}") == [number]


def test_hetu_and_personnummer_keep_their_century_sign() -> None:
    assert found(nid.FiHetuDetector(), "HETU 131052-308T ja 010105A123P") == ["131052-308T", "010105A123P"]
    assert found(nid.SePersonnummerDetector(), "pnr 121212+1212, 19121212-1212") == ["121212+1212", "19121212-1212"]


# Text of the kind DICOM headers carry, with digit runs that identify no one.
DICOM_TEXT = [
    "SOP 1.2.840.10008.5.1.4.1.1.2 series 1.2.826.0.1.3680043.2.1125.1.34918616334",
    "1.3.12.2.1107.5.1.4.73470.30000024013107124595300000012",
    "acquired 20240131 at 083015.123456; 20240131083015.000000+0100",
    "CT chest with contrast, 5 mm slices, follow-up in 3 months; DLP 1234.5 mGy*cm",
    "Matrix 512x512, FOV 350 mm, kVp 120, mAs 250, CTDIvol 12.34 mGy",
    "Software 10.2.3 build 20230915-1432, VE11C-SP01",
    "T1W_SE_TRA 256x256 3mm, TR 500 TE 15, NEX 2",
    "Table 20240131093015 height 1234567 um",
    "range 12000000000-12999999999",
    "lot X1234567 exp 2026-01-31, ref ABCDEF12G34H567",
]


@pytest.mark.parametrize("text", DICOM_TEXT)
def test_no_national_id_in_dicom_text(text: str) -> None:
    for detector in nid.DETECTORS:
        assert list(detector().find(text)) == [], (detector.kind, text)


def test_the_combined_detector_finds_what_each_detector_finds() -> None:
    rng = random.Random("combined")
    texts = [f"ref {make(rng)} and {make(rng)}" for _, make, *_ in list(SCHEMES.values()) + list(NEW_KINDS.values())]
    texts += ["SSN 123456789", "BSN 111222333, CPR 211062-5629", "no digits here", *DICOM_TEXT]
    combined = nid.NationalIdDetector()
    for text in texts:
        each = sorted({f for d in nid.DETECTORS for f in d().find(text)})
        assert sorted(set(combined.find(text))) == each, text
