"""Profiles: the generated ones match the standard's tables; loading, options, extends and errors.

The CSVs in ``standard/`` are read here with the csv module alone, so a bug in the
generator cannot hide behind the same bug in the check.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydicom.datadict import tag_for_keyword

from deidentify.plan import RuleBook
from deidentify.profile import (
    OPTIONS,
    ClassSelector,
    PrivateSelector,
    ProfileError,
    TagSelector,
    VRSelector,
    WildcardSelector,
    builtin_names,
    load_profile,
    parse_selector,
)
from deidentify.profile.model import BASIC_PROFILE_CODE

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT / "standard"
PROFILES = ROOT / "profiles"


def read_csv(name: str) -> list[dict[str, str]]:
    with (STANDARD / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def option_columns(rows: list[dict[str, str]]) -> list[str]:
    return [c for c in rows[0] if c.startswith(("retain_", "clean_"))]


def option_name(column: str) -> str:
    return column.replace("_", "-")


def expected_options(row: dict[str, str], columns: list[str]) -> dict[str, str]:
    return {option_name(c): row[c] for c in columns if row[c]}


def expected_selector(tag: str):
    """The selector a Table E.1-1 tag cell means, worked out without the project's parser."""
    if tag.startswith("gggg,eeee"):
        return ClassSelector("private")
    digits = tag.replace(",", "").lower()
    assert re.fullmatch(r"[0-9a-fx]{8}", digits), tag
    if "x" in digits:
        mask = int("".join("0" if c == "x" else "f" for c in digits), 16)
        return WildcardSelector(mask, int(digits.replace("x", "0"), 16))
    return TagSelector(int(digits, 16))


E1_ROWS = read_csv("ps3.15_table_e1-1.csv")
E310_ROWS = read_csv("ps3.15_table_e3.10-1_safe_private.csv")
E34_ROWS = read_csv("ps3.15_table_e3.4-1_clean_structured_content.csv")


# --- the generated profiles against the standard ----------------------------------------------


def test_the_tables_have_the_documented_sizes() -> None:
    assert (len(E1_ROWS), len(E310_ROWS), len(E34_ROWS)) == (657, 479, 214)
    assert {option_name(c) for c in option_columns(E1_ROWS)} == set(OPTIONS)


def test_e1_1_profile_matches_the_table_row_for_row() -> None:
    profile = load_profile(PROFILES / "_ps3.15-e1-1.yaml")
    columns = option_columns(E1_ROWS)
    assert len(profile.rules) == len(E1_ROWS)
    assert not profile.content_items
    for row, rule in zip(E1_ROWS, profile.rules, strict=True):
        where = f"{row['tag']} {row['keyword']}"
        assert rule.selector == expected_selector(row["tag"]), where
        assert rule.name == (row["keyword"] or row["attribute_name"]), where
        assert rule.action == row["basic_profile"], where
        assert dict(rule.options) == expected_options(row, columns), where
        assert rule.when is None and not rule.args, where


def test_e1_1_yaml_text_names_the_table_tags() -> None:
    doc = yaml.safe_load((PROFILES / "_ps3.15-e1-1.yaml").read_text(encoding="utf-8"))
    selects = [r["select"] for r in doc["rules"]]
    assert selects == ["private" if r["tag"].startswith("gggg") else r["tag"] for r in E1_ROWS]


def test_e1_1_keywords_agree_with_the_dictionary() -> None:
    # A wrong tag next to a right keyword would silently protect the wrong element.
    for row in E1_ROWS:
        if row["keyword"] and "x" not in row["tag"] and tag_for_keyword(row["keyword"]) is not None:
            assert tag_for_keyword(row["keyword"]) == int(row["tag"].replace(",", ""), 16), row["keyword"]


def test_e1_1_codes_are_the_action_codes_of_the_standard() -> None:
    basic = {r["basic_profile"] for r in E1_ROWS}
    assert basic == {"X", "Z", "D", "U", "X/D", "X/Z", "X/Z/D", "Z/D", "X/Z/U*"}
    cells = {r[c] for r in E1_ROWS for c in option_columns(E1_ROWS)}
    assert cells == {"", "K", "C"}


def test_e3_10_1_profile_matches_the_safe_private_table() -> None:
    profile = load_profile(PROFILES / "_ps3.15-e3.10-1.yaml")
    assert len(profile.rules) == len(E310_ROWS)
    for row, rule in zip(E310_ROWS, profile.rules, strict=True):
        m = re.fullmatch(r"\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)", row["Data Element"].strip())
        assert m, row
        expected = PrivateSelector(int(m.group(1), 16), row["Private Creator"].strip().upper(), int(m.group(2), 16))
        assert rule.selector == expected, row
        assert rule.action == "K" and rule.when == "retain-safe-private", row
        assert not rule.options, row
    selectors = [r.selector for r in profile.rules]
    assert len(set(selectors)) == len(selectors)


def test_e3_4_1_profile_matches_the_content_item_table() -> None:
    profile = load_profile(PROFILES / "_ps3.15-e3.4-1.yaml")
    columns = option_columns(E34_ROWS)
    assert not profile.rules
    assert len(profile.content_items) == len(E34_ROWS)
    for row, item in zip(E34_ROWS, profile.content_items, strict=True):
        assert (item.concept, item.scheme, item.meaning, item.value_type) == (
            row["code_value"],
            row["coding_scheme_designator"],
            row["code_meaning"],
            row["value_type"],
        ), row
        assert item.action == row["basic_profile"], row
        assert dict(item.options) == expected_options(row, columns), row


def test_generator_check_mode_finds_the_profiles_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "generate_profiles.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "out of date" not in result.stdout


# --- built-in profiles ------------------------------------------------------------------------


def test_builtin_names_are_the_selectable_profiles() -> None:
    assert builtin_names() == ["basic", "research"]


def test_basic_profile() -> None:
    basic = load_profile("basic")
    assert basic.name == "basic"
    assert basic.settings.clean_pixel_data is True
    assert basic.options == frozenset()
    assert basic.method_codes == [BASIC_PROFILE_CODE]
    assert len(basic.rules) > len(E1_ROWS) + len(E310_ROWS)
    assert len(basic.content_items) == len(E34_ROWS)
    assert [Path(f).name for f in basic.files] == [
        "_ps3.15-e1-1.yaml", "_ps3.15-e3.10-1.yaml", "_ps3.15-e3.4-1.yaml", "basic.yaml",
    ]
    # basic's own rules come after the tables, so they win.
    own = [r for r in basic.rules if r.origin.startswith("basic.yaml")]
    assert own == list(basic.rules[-len(own):])
    assert own[0].selector == TagSelector(0x00100020) and own[0].action == "pseudonym"


def test_research_profile() -> None:
    research = load_profile("research")
    assert research.options == {
        "retain-long-modified-dates",
        "retain-patient-characteristics",
        "clean-descriptors",
        "clean-structured-content",
        "retain-safe-private",
    }
    assert research.settings.date_shift_days == (-1095, -30)
    assert research.settings.clean_pixel_data is True  # inherited from basic
    assert research.rules[-1].selector == TagSelector(0x00101010) and research.rules[-1].action == "age-cap"
    assert [c for c, _ in research.method_codes] == ["113100", "113105", "113104", "113107", "113108", "113111"]


@pytest.mark.parametrize(
    "option",
    [
        "retain-safe-private",
        "retain-uids",
        "retain-device-identity",
        "retain-institution-identity",
        "retain-patient-characteristics",
        "retain-long-full-dates",
        "retain-long-modified-dates",
        "clean-descriptors",
        "clean-structured-content",
        "clean-graphics",
    ],
)
def test_every_annex_e_option_is_selectable_and_used(option: str) -> None:
    profile = load_profile("basic", options=(option,))
    assert profile.options == {option}
    assert profile.method_codes == [BASIC_PROFILE_CODE, OPTIONS[option]]
    # The option changes at least one rule of the tables.
    assert any(option in r.options or r.when == option for r in profile.rules)


def test_the_two_date_options_exclude_each_other(tmp_path: Path) -> None:
    both = ("retain-long-full-dates", "retain-long-modified-dates")
    with pytest.raises(ProfileError, match="exclude each other"):
        load_profile("basic", options=both)
    # research already modifies dates; asking for full dates as well is refused.
    with pytest.raises(ProfileError, match="retain-long-full-dates and retain-long-modified-dates"):
        load_profile("research", options=("retain-long-full-dates",))
    path = tmp_path / "both.yaml"
    path.write_text(f"name: both\nextends: basic\noptions: [{both[0]}, {both[1]}]\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="exclude each other"):
        load_profile(path)


# --- user profiles ----------------------------------------------------------------------------

SITE = """\
# A site profile on top of the built-in one.
name: site
extends: basic
options: [retain-device-identity, clean-descriptors]
settings:
  date_shift_days: [-30, -1]
rules:
  - {select: StudyDescription, action: keep}
  - {select: '(0029,"ACME CT",10)', action: replace, value: "ACME"}
"""


def test_a_user_profile_extends_basic_adds_options_and_overrides_a_rule(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE, encoding="utf-8")
    site = load_profile(path)
    assert site.name == "site"
    assert site.options == {"retain-device-identity", "clean-descriptors"}
    assert site.settings.date_shift_days == (-30, -1)
    assert site.settings.clean_pixel_data is True
    assert Path(site.files[-1]) == path.resolve()
    assert "basic.yaml" in [Path(f).name for f in site.files]
    override, private = site.rules[-2:]
    assert override.selector == TagSelector(0x00081030) and override.action == "keep"
    assert override.origin == "site.yaml:8"
    assert private.selector == PrivateSelector(0x0029, "ACME CT", 0x10) and private.args == {"value": "ACME"}
    book = RuleBook(site)
    # Table E.1-1 says X (C under clean-descriptors); the site's rule says keep, and wins.
    assert book.step(0x00081030, "LO").kind == "keep"
    assert book.step(0x00291010, "LO", "ACME CT").name == "replace"
    # The rest of basic still applies.
    assert book.step(0x00100030, "DA").name == "empty"  # PatientBirthDate: Z


def test_a_profile_extends_another_file_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(SITE, encoding="utf-8")
    (tmp_path / "dept").mkdir()
    child = tmp_path / "dept" / "ct.yaml"
    child.write_text("name: ct\nextends: ../site.yaml\noptions: [retain-uids]\n", encoding="utf-8")
    ct = load_profile(child)
    assert ct.options == {"retain-device-identity", "clean-descriptors", "retain-uids"}
    assert [Path(f).name for f in ct.files][-2:] == ["site.yaml", "ct.yaml"]


def test_options_given_on_load_add_to_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE, encoding="utf-8")
    assert load_profile(path, options=("retain-uids",)).options == {
        "retain-device-identity", "clean-descriptors", "retain-uids",
    }


# --- invalid profiles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param(
            "name: bad\nextends: basic\nrules:\n  - {select: PatientName, action: keep}\n"
            "  - {select: StudyDate, action: obliterate}\n",
            [":5:", "rule 2", "'StudyDate'", "unknown action 'obliterate'"],
            id="unknown-action",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: NotAKeyword, action: X}\n",
            [":3:", "rule 1", "'NotAKeyword'", "not a keyword"],
            id="unknown-keyword",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: PatientName, action: X}\n  - {select: 'VR:ZZ', action: X}\n",
            [":4:", "rule 2", "'VR:ZZ'", "unknown VR"],
            id="unknown-vr",
        ),
        pytest.param(
            "name: bad\nrules:\n\n  - {select: '(0010,\"ACME\",10)', action: X}\n",
            [":4:", "rule 1", "ACME", "even (public) group"],
            id="private-selector-in-public-group",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: '0010,00GG', action: X}\n",
            [":3:", "rule 1", "0010,00GG", "cannot read selector"],
            id="unreadable-selector",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: PatientName, action: X\n  - {select: StudyDate, action: X}\n",
            [":4:", "not valid YAML", "line 3"],
            id="bad-yaml",
        ),
        pytest.param(
            "name: bad\nextends: basic\nrules:\n  - {select: StudyDate, action: X, options: {retain-everything: K}}\n",
            [":4:", "rule 1", "'StudyDate'", "unknown option 'retain-everything'"],
            id="unknown-option-in-rule",
        ),
        pytest.param(
            "name: bad\nextends: basic\noptions: [retain-uids, retain-everything]\n",
            [":3:", "unknown option 'retain-everything'"],
            id="unknown-option",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: StudyDate, action: X, when: retain-everything}\n",
            [":3:", "rule 1", "retain-everything"],
            id="unknown-option-in-when",
        ),
        pytest.param(
            "# comment\nname: bad\nextends: no-such-profile\n",
            [":3:", "extends 'no-such-profile'", "basic, research"],
            id="missing-builtin-extends",
        ),
        pytest.param(
            "name: bad\nextends: [basic, ./missing.yaml]\n",
            [":2:", "extends './missing.yaml'", "missing.yaml"],
            id="missing-file-extends",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: PatientName, action: replace}\n",
            [":3:", "rule 1", "needs value"],
            id="missing-argument",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: PatientName, action: regex, pattern: '([a-z', repl: x}\n",
            [":3:", "rule 1", "bad regex"],
            id="bad-regex",
        ),
        pytest.param(
            "name: bad\nrules:\n  - {select: PatientName, action: X, colour: red}\n",
            [":3:", "rule 1", "unknown key(s) colour"],
            id="unknown-rule-key",
        ),
        pytest.param(
            "name: bad\nsettings:\n  date_shift_days: [-10, 10]\n",
            [":3:", "must not include 0"],
            id="date-shift-through-zero",
        ),
        pytest.param(
            "name: bad\nrule:\n  - {select: PatientName, action: X}\n",
            [":1:", "unknown key(s) rule"],
            id="unknown-top-level-key",
        ),
    ],
)
def test_invalid_profiles_name_file_line_and_rule(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(str(path.resolve()) + ":"), message
    for fragment in fragments:
        assert fragment in message, message


def test_a_profile_that_extends_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nextends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("name: b\nextends: a.yaml\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="extends itself"):
        load_profile(tmp_path / "a.yaml")


def test_unknown_profile_and_option_on_load() -> None:
    with pytest.raises(ProfileError, match="not a built-in"):
        load_profile("no-such-profile")
    with pytest.raises(ProfileError, match="unknown option 'retain-everything'"):
        load_profile("basic", options=("retain-everything",))


# --- selectors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PatientName", TagSelector(0x00100010)),
        ("(0010,0010)", TagSelector(0x00100010)),
        ("0010,0010", TagSelector(0x00100010)),
        ("00100010", TagSelector(0x00100010)),
        ("(0008,103e)", TagSelector(0x0008103E)),
        ("50xx,xxxx", WildcardSelector(0xFF000000, 0x50000000)),
        ("60xx,3000", WildcardSelector(0xFF00FFFF, 0x60003000)),
        ("(60XX,4000)", WildcardSelector(0xFF00FFFF, 0x60004000)),
        ('(0029,"SIEMENS CSA HEADER",10)', PrivateSelector(0x0029, "SIEMENS CSA HEADER", 0x10)),
        ('(0029, " Siemens CSA Header ", 1a)', PrivateSelector(0x0029, "SIEMENS CSA HEADER", 0x1A)),
        ("VR:PN", VRSelector("PN")),
        ("vr:da", VRSelector("DA")),
        ("private", ClassSelector("private")),
        ("unknown", ClassSelector("unknown")),
    ],
)
def test_selectors_parse(text: str, expected) -> None:
    assert parse_selector(text) == expected


def test_wildcards_match_their_groups_only() -> None:
    curves = parse_selector("50xx,xxxx")
    assert curves.matches(0x50000010) and curves.matches(0x501E3000)
    assert not curves.matches(0x60003000) and not curves.matches(0x00100010)
    overlay_data = parse_selector("60xx,3000")
    assert overlay_data.matches(0x60003000) and overlay_data.matches(0x601E3000)
    assert not overlay_data.matches(0x60004000) and not overlay_data.matches(0x70003000)


@pytest.mark.parametrize(
    "text",
    ["NotAKeyword", "VR:ZZ", '(0010,"ACME",10)', '(0029,"ACME",1010)', "0010,00GG", "60xy,3000", "", "0010"],
)
def test_bad_selectors_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_selector(text)

