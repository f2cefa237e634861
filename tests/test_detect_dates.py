"""DateDetector and iter_dates."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deidentify.detect import DateDetector, Finding, iter_dates

JAN31 = datetime.date(2024, 1, 31)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in sorted(DateDetector().find(text))]


@pytest.mark.parametrize(
    "written",
    [
        "20240131",
        "2024-01-31",
        "2024/01/31",
        "2024.1.31",
        "31/01/2024",
        "01/31/2024",
        "31.01.2024",
        "31-01-2024",
        "31 Jan 2024",
        "31 January 2024",
        "31st January 2024",
        "31st of January, 2024",
        "31-JAN-2024",
        "31JAN2024",
        "31-jan-24",
        "January 31, 2024",
        "Jan 31 2024",
        "Jan. 31st, 2024",
        "JANUARY 31 2024",
    ],
)
def test_common_formats_are_found_and_read(written: str) -> None:
    text = f"Study performed {written}, reported later."
    assert found(text) == [written]
    (span,) = iter_dates(text)
    assert JAN31 in span.dates


def test_dicom_datetime_is_one_date() -> None:
    text = "acquired 20240131083015.123456 on scanner 2"
    assert found(text) == ["20240131083015.123456"]


def test_ambiguous_day_month_reports_both_readings() -> None:
    (span,) = iter_dates("seen 02/03/2024")
    assert span.dates == {datetime.date(2024, 2, 3), datetime.date(2024, 3, 2)}


def test_two_digit_year_next_to_month_name_is_either_century() -> None:
    (span,) = iter_dates("DOB 05-MAR-61")
    assert span.dates == {datetime.date(1961, 3, 5), datetime.date(2061, 3, 5)}


def test_findings_have_kind_date_and_offsets() -> None:
    assert list(DateDetector().find("on 2024-01-31.")) == [Finding(3, 13, "date")]


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30",
        "2023-02-29",
        "31/04/2024",
        "13/13/2024",
        "20241301",
        "12345678",
        "00000000",
        "32 Jan 2024",
        "Feb 30, 2024",
        "1.2.840.10008.20240131.1",
        "follow-up at 3/6/12 months",
        "BP 120/80",
        "version 10.11.12",
        "May 2024",
        "in March we may 12 patients",
        "CT chest with contrast, 5 mm slices, follow-up in 3 months",
        "series 20240131123",
    ],
)
def test_non_dates_are_left_alone(text: str) -> None:
    assert found(text) == []


def test_leap_day() -> None:
    assert found("born 29.02.2000, not 29.02.1900") == ["29.02.2000"]


FORMATS = [
    "%Y%m%d",
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%d-%b-%Y",
    "%b %d %Y",
]


@settings(max_examples=150, deadline=None)
@given(
    day=st.dates(min_value=datetime.date(1850, 1, 1), max_value=datetime.date(2150, 12, 31)),
    form=st.sampled_from(FORMATS),
)
def test_every_real_date_is_found_in_every_format(day: datetime.date, form: str) -> None:
    written = day.strftime(form)
    spans = list(iter_dates(f"Date: {written}; end"))
    assert len(spans) == 1
    assert day in spans[0].dates
