"""Region rules: conditions on header values, deid recipes (the shipped device list and a
user's own, read by deid's parser), CTP DicomPixelAnonymizer scripts, and the profile's
``pixels`` section -- on real pydicom datasets, with no mocks."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidentify.pixels.base import Box, RegionDecision
from deidentify.pixels.rules import (
    ALWAYS,
    RuleError,
    compile_rules,
    decide,
    load_source,
    parse_condition,
    parse_ctp_script,
    parse_region_rule,
    resolve_source,
    rule_set,
    ultrasound_regions,
)
from deidentify.profile import ProfileError, load_profile

CT = get_testdata_file("CT_small.dcm")
MR = get_testdata_file("MR_small.dcm")


def _header(path: str) -> Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def _deid_data(name: str) -> Path:
    deid_data = pytest.importorskip("deid_data", reason="the deid-data package holds the ultrasound samples")
    return Path(deid_data.__file__).parent / "data" / "ultrasounds" / name


def _us(**values: object) -> Dataset:
    ds = Dataset()
    ds.Modality = "US"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Rows = 768
    ds.Columns = 1024
    for key, value in values.items():
        setattr(ds, key, value)
    return ds


# -- conditions ---------------------------------------------------------------------------


def test_conditions_on_a_real_ct_header() -> None:
    ds = _header(CT)
    assert (ds.Modality, ds.Manufacturer, ds.Rows) == ("CT", "GE MEDICAL SYSTEMS", 128)
    assert parse_condition({"Modality": "ct"})(ds)  # equals ignores case
    assert not parse_condition({"Modality": "MR"})(ds)
    assert parse_condition({"Modality": ["MR", "CT"]})(ds)  # a list: any of
    assert parse_condition({"Manufacturer": {"contains": "medical"}})(ds)
    assert parse_condition({"Manufacturer": {"regex": r"^ge\s+med"}})(ds)
    assert not parse_condition({"Manufacturer": {"regex": r"^MED"}})(ds)
    assert not parse_condition({"Manufacturer": {"contains": "medical", "case": True}})(ds)
    assert parse_condition({"Manufacturer": {"startswith": "GE", "endswith": "systems"}})(ds)
    assert parse_condition({"Rows": 128, "Columns": 128})(ds)
    assert parse_condition({"Rows": {"less_than": 256, "greater_than": 64}})(ds)
    assert not parse_condition({"Rows": {"greater_than": 128}})(ds)
    assert parse_condition({"(0008,0060)": "CT", "00280010": 128})(ds)  # tags as keys
    assert parse_condition({"PatientName": {"present": True}, "BurnedInAnnotation": {"missing": True}})(ds)
    assert not parse_condition({"PatientName": {"missing": True}})(ds)
    assert parse_condition({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2"})(ds)


def test_multi_valued_image_type_matches_whole_or_any_value() -> None:
    ds = _header(MR)
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert parse_condition({"ImageType": "secondary"})(ds)  # one of the values
    assert parse_condition({"ImageType": {"contains": "DERIVED\\SECONDARY"}})(ds)  # the whole value
    assert not parse_condition({"ImageType": "ORIGINAL"})(ds)


def test_and_or_not_combinations() -> None:
    ds = _header(CT)
    assert parse_condition({"and": [{"Modality": "CT"}, {"Rows": 128}]})(ds)
    assert not parse_condition({"and": [{"Modality": "CT"}, {"Rows": 512}]})(ds)
    assert parse_condition({"or": [{"Modality": "US"}, {"Rows": 128}]})(ds)
    assert parse_condition({"not": {"Modality": "US"}})(ds)
    assert not parse_condition({"not": {"Modality": "CT"}})(ds)
    assert parse_condition(
        {"Modality": "CT", "or": [{"Rows": 1}, {"Columns": 128}], "not": {"Manufacturer": "ACME"}}
    )(ds)
    assert parse_condition([{"Modality": "CT"}, {"Rows": 128}])(ds)
    assert parse_condition(True) is ALWAYS


def test_empty_present_and_sequences() -> None:
    ds = _us(SeriesDescription="", SequenceOfUltrasoundRegions=Sequence([Dataset()]))
    assert parse_condition({"SeriesDescription": {"empty": True}})(ds)
    assert parse_condition({"SeriesDescription": {"present": True}})(ds)
    assert not parse_condition({"SeriesDescription": {"equals": "x"}})(ds)
    assert parse_condition({"SequenceOfUltrasoundRegions": {"present": True}})(ds)
    assert not parse_condition({"SequenceOfUltrasoundRegions": {"contains": "x"}})(ds)
    assert parse_condition({"StudyDescription": {"missing": True}})(ds)


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"Modalty": "US"}, "'Modalty' is neither a DICOM keyword nor a tag"),
        ({"Modality": {"resembles": "US"}}, "unknown operator 'resembles'"),
        ({"Manufacturer": {"regex": "(acme"}}, "bad regular expression"),
        ({"Rows": {"less_than": "many"}}, "less_than needs a number"),
        ({"Modality": None}, "needs a value"),
        ({"Modality": {"present": "yes"}}, "present: true"),
        ({"or": {"Modality": "US"}}, "'or' takes a non-empty list"),
        ({}, "an empty condition"),
        ("US", "a condition is a mapping"),
    ],
)
def test_bad_conditions_say_what_is_wrong(spec: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        parse_condition(spec)


# -- profile regions --------------------------------------------------------------------------


def test_region_rules_blank_keep_whole_clean_and_ctp_rectangles() -> None:
    regions = [
        parse_region_rule(
            {
                "name": "banner",
                "when": {"Modality": "US", "Manufacturer": {"contains": "acme"}},
                "blank": [
                    [0, 0, 1024, 60],
                    {"x": 10, "y": 700, "width": 100, "height": 20},
                    {"x0": 5, "y0": 6, "x1": 7, "y1": 8},
                ],
            },
            "t.yaml:1",
            1,
        ),
        parse_region_rule(
            {
                "name": "capture",
                "when": {"ImageType": {"contains": "SCREEN"}},
                "blank": "all",
                "keep": ["ultrasound-regions", [0, 0, 10, 10]],
            },
            "t.yaml:2",
            2,
        ),
        parse_region_rule({"name": "quiet ct", "when": {"Modality": "CT"}, "clean": True}, "t.yaml:3", 3),
        parse_region_rule({"name": "odd", "when": {"Manufacturer": "ACME"}, "flag": True}, "t.yaml:4", 4),
    ]
    rules = rule_set(regions=regions)
    region = Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 20, 70
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 999, 699
    ds = _us(
        Manufacturer="ACME Imaging",
        ImageType=["DERIVED", "SCREEN SAVE"],
        SequenceOfUltrasoundRegions=Sequence([region]),
    )
    decision = decide(ds, rules)
    assert isinstance(decision, RegionDecision)
    assert decision.boxes == (
        Box(0, 0, 1024, 60, "banner"),
        Box(10, 700, 110, 720, "banner"),
        Box(5, 6, 7, 8, "banner"),
    )
    assert decision.whole is True
    assert decision.keep == (Box(0, 0, 10, 10, "capture"), Box(20, 70, 1000, 700, "capture"))
    assert decision.clean is False
    assert decision.flags == ()  # "odd" needs the exact manufacturer "ACME"
    assert decision.rules == ("banner", "capture")
    ct = decide(_header(CT), rules)
    assert (ct.clean, ct.boxes, ct.whole, ct.rules) == (True, (), False, ("quiet ct",))


def test_boxes_are_clipped_to_the_image() -> None:
    rule = parse_region_rule({"when": True, "blank": [[900, 700, 2000, 900], [2000, 0, 2100, 10]]}, "t:1", 1)
    rules = rule_set(regions=[rule])
    decision = decide(_us(Rows=768, Columns=1024), rules)
    assert decision.boxes == (Box(900, 700, 1024, 768, "region 1"),)


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"blank": "all"}, "'when' is required"),
        ({"when": {"Modality": "US"}}, "does nothing"),
        ({"when": True, "blank": [[0, 0, 10]]}, "four numbers"),
        ({"when": True, "blank": [[10, 0, 5, 5]]}, "not a rectangle"),
        ({"when": True, "blank": [{"x": 0, "y": 0, "width": 0, "height": 5}]}, "positive"),
        ({"when": True, "blank": [[0, 0, 1.5, 4]]}, "whole numbers"),
        ({"when": True, "blank": "everything"}, "'blank' is 'all' or a list"),
        ({"when": True, "keep": "the middle"}, "a rectangle is"),
        ({"when": True, "clean": True, "blank": "all"}, "cannot also blank"),
        ({"when": True, "clean": "yes"}, "'clean' is true or false"),
        ({"when": True, "blank": "all", "colour": "black"}, "unknown key(s) colour"),
    ],
)
def test_bad_region_rules_say_what_is_wrong(raw: dict, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_region_rule(raw, "t:1", 1)
    assert fragment in str(caught.value)


# -- deid's shipped device list -----------------------------------------------------------------


def test_the_shipped_deid_device_list_is_read_by_deids_parser() -> None:
    from deid.config import DeidRecipe
    from deid.data import data_base

    group = load_source(resolve_source("deid:dicom"))
    filters = DeidRecipe(str(Path(data_base) / "deid.dicom")).get_filters()
    assert {name: len(items) for name, items in filters.items()} == {"whitelist": 2, "graylist": 109, "blacklist": 7}
    assert len(group.rules) == 118
    for name, items in filters.items():
        ours = [r for r in group.rules if r.name.startswith(f"deid:dicom {name}/")]
        assert len(ours) == len(items)
        assert [r.name.split("/", 1)[1] for r in ours] == [i["name"].replace("LABEL ", "", 1).strip() for i in items]
    assert sum(r.clean for r in group.rules) == 2
    assert sum(bool(r.blank) for r in group.rules) == 105
    assert group.mode == "all"
    hitachi = next(r for r in group.rules if r.name.endswith("graylist/Hitachi") and "Avius" in r.condition.describe())
    assert hitachi.blank == ((0, 0, 1140, 74),)  # ctpcoordinates 0,0,1140,74: x, y, width, height
    assert hitachi.origin.startswith("deid.dicom:")


def test_a_known_ultrasound_device_gets_its_boxes() -> None:
    rules = rule_set([load_source(resolve_source("deid:dicom"))])
    hitachi = _us(Manufacturer="Hitachi Aloka", ManufacturerModelName="HI VISION Avius", Rows=768, Columns=1024)
    decision = decide(hitachi, rules)
    assert decision.boxes == (Box(0, 0, 1024, 74, "deid:dicom graylist/Hitachi"),)  # clipped to the columns
    assert decision.clean is False and decision.whole is False
    other_model = decide(_us(Manufacturer="Hitachi", ManufacturerModelName="Arietta 65", Rows=768), rules)
    assert other_model.boxes == ()


def test_real_ultrasound_files_from_deid_data_get_their_device_boxes() -> None:
    rules = rule_set([load_source(resolve_source("deid:dicom"))])
    siemens = _header(str(_deid_data("RGB_IMAGE.dcm")))
    device = (siemens.Manufacturer, siemens.ManufacturerModelName, siemens.Rows, siemens.Columns)
    assert device == ("SIEMENS", "S2000", 768, 1024)
    assert decide(siemens, rules).boxes == (Box(0, 0, 1024, 60, "deid:dicom graylist/SIEMMENS"),)
    philips = decide(_header(str(_deid_data("GREYSCALE_IMAGE.dcm"))), rules)
    assert [b.label for b in philips.boxes] == ["deid:dicom graylist/EPIQ 7G"]
    assert philips.boxes[0].y1 == 49


def test_whitelist_marks_clean_and_blacklist_flags() -> None:
    rules = rule_set([load_source(resolve_source("deid:dicom"))])
    clean = decide(_us(Manufacturer="Nobody", BurnedInAnnotation="NO"), rules)
    assert clean.clean is True and clean.boxes == ()
    assert clean.rules == ("deid:dicom whitelist/Marked as Clean Catch All",)
    flagged = decide(_header(MR), rules)  # DERIVED\SECONDARY MR
    assert "deid:dicom blacklist/Stanford Blacklist secondary or derived catchall" in flagged.flags
    assert flagged.clean is False and flagged.boxes == ()


def test_the_ultrasound_recipe_blanks_all_but_the_regions() -> None:
    rules = rule_set([load_source(resolve_source("deid:dicom.ultrasound"))])
    ds = _header(str(_deid_data("GREYSCALE_IMAGE.dcm")))
    decision = decide(ds, rules)
    assert decision.whole is True
    assert decision.keep == (Box(14, 38, 1011, 759, "deid:dicom.ultrasound graylist/Clean Ultrasound Regions"),)
    assert ultrasound_regions(ds) == [Box(14, 38, 1011, 759, "ultrasound region")]


# -- a user's deid recipe -------------------------------------------------------------------------

OUR_RECIPE = """\
FORMAT dicom

%filter whitelist

LABEL Our quiet CT  # no text on these
  contains Modality CT
  + equals Manufacturer ACME CT

%filter graylist

LABEL ACME ultrasound banner
  contains Modality US
  + contains Manufacturer ACME
  + equals Rows 768
  coordinates 0,0,1024,50
  ctpcoordinates 0,740,300,28

LABEL ACME screen capture
  contains Manufacturer ACME
  + contains ImageType SCREEN || contains SeriesDescription capture
  coordinates all
  keepcoordinates from:SequenceOfUltrasoundRegions
  ctpkeepcoordinates 0,0,10,10

LABEL Unknown ACME model
  contains Manufacturer ACME
  + notequals ManufacturerModelName Model 1
  + notcontains ManufacturerModelName Model 2
"""


def _write_profile(folder: Path, pixels: str, name: str = "site.yaml") -> Path:
    path = folder / name
    path.write_text("name: site\nextends: basic\n" + textwrap.dedent(pixels), encoding="utf-8")
    return path


def test_a_user_recipe_loads_through_the_profile(tmp_path: Path) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "our.deid").write_text(OUR_RECIPE, encoding="utf-8")
    profile = load_profile(_write_profile(tmp_path, "pixels:\n  sources: [deid:dicom, recipes/our.deid]\n"))
    assert [s.written for s in profile.pixels.sources] == ["deid:dicom", "recipes/our.deid"]
    assert profile.pixels.sources[1].ref == str((tmp_path / "recipes" / "our.deid").resolve())
    rules = compile_rules(profile.pixels)
    assert compile_rules(profile.pixels) is rules  # built once
    ours = rules.group("recipes/our.deid")
    assert [r.name for r in ours.rules] == [
        "recipes/our.deid whitelist/Our quiet CT",
        "recipes/our.deid graylist/ACME ultrasound banner",
        "recipes/our.deid graylist/ACME screen capture",
        "recipes/our.deid graylist/Unknown ACME model",
    ]
    assert [r.origin for r in ours.rules] == ["our.deid:5", "our.deid:11", "our.deid:18", "our.deid:25"]

    banner = decide(_us(Manufacturer="ACME", ManufacturerModelName="Model 1", Rows=768), profile.pixels)
    assert banner.boxes == (
        Box(0, 0, 1024, 50, "recipes/our.deid graylist/ACME ultrasound banner"),
        Box(0, 740, 300, 768, "recipes/our.deid graylist/ACME ultrasound banner"),
    )
    assert banner.whole is False and banner.flags == ()

    region = Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 100, 100
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 899, 599
    capture = decide(
        _us(
            Manufacturer="ACME",
            ManufacturerModelName="Model 3",
            SeriesDescription="Screen Capture",
            SequenceOfUltrasoundRegions=Sequence([region]),
        ),
        profile.pixels,
    )
    assert capture.whole is True
    assert sorted((b.x0, b.y0, b.x1, b.y1) for b in capture.keep) == [(0, 0, 10, 10), (100, 100, 900, 600)]
    assert "recipes/our.deid graylist/Unknown ACME model" in capture.flags  # no coordinates: a flag

    quiet = Dataset()
    quiet.Modality, quiet.Manufacturer = "CT", "acme ct "
    assert decide(quiet, profile.pixels).clean is True


@pytest.mark.parametrize(
    "recipe, fragments",
    [
        (
            "FORMAT dicom\n%filter graylist\nLABEL Typo\n"
            "  contains Modality US\n  + contain Manufacturer ACME\n  coordinates 0,0,10,10\n",
            ["bad.deid:5", "deid skips this line", "contain manufacturer acme"],
        ),
        (
            "FORMAT dicom\n%filter graylist\nLABEL Misspelt field\n"
            "  contains Manufactuer ACME\n  coordinates 0,0,10,10\n",
            ["bad.deid:3", "label 'Misspelt field'", "'Manufactuer' is neither a DICOM keyword"],
        ),
        (
            "FORMAT dicom\n%filter graylist\nLABEL Short box\n  contains Manufacturer ACME\n  coordinates 0,0,10\n",
            ["bad.deid:3", "label 'Short box'", "not four whole numbers"],
        ),
        (
            "FORMAT dicom\n%filter graylist\nLABEL Short CTP box\n"
            "  contains Manufacturer ACME\n  ctpcoordinates 0,0,10\n",
            ["bad.deid", "deid cannot read this recipe", "Coordinates are expected to have length of 4"],
        ),
        ("FORMAT dicom\n# no sections yet\n", ["bad.deid", "no %filter section"]),
        (
            "FORMAT dicom\n%header\nREMOVE PatientName\n%filter graylist\nLABEL X\n  contains Modality US\n",
            ["bad.deid", "has a %header section (1 actions)", "deidentify profiles import"],
        ),
    ],
)
def test_bad_user_recipes_name_the_recipe_line_and_label(tmp_path: Path, recipe: str, fragments: list[str]) -> None:
    (tmp_path / "bad.deid").write_text(recipe, encoding="utf-8")
    path = _write_profile(tmp_path, "pixels:\n  sources:\n    - bad.deid\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert f"{path}:5: pixels source 'bad.deid'" in message
    for fragment in fragments:
        assert fragment in message, message


# -- CTP DicomPixelAnonymizer scripts ---------------------------------------------------------

OUR_SCRIPT = """\
Burned-in annotation library of our hospital.  Free text is ignored (even this).

**** CT ****
GE dose report
  { Modality.equals("CT") * [0008,0070].containsIgnoreCase("GE MEDICAL") *
    ( SeriesDescription.containsIgnoreCase("Dose Report") + [0008,103E].contains("DLP") ) }
  (0,0,512,110)

ACME ultrasound, 768 rows
  { Modality.equals("US") * Manufacturer.startsWithIgnoreCase("acme") * Rows.equals("768")
    * !ManufacturerModelName.matches("Model [0-9]+X") }
  (0,0,1024,60) (200,60,20,20)
  (800,65,104,14)

ACME catch-all (the first match alone applies)
  { Manufacturer.containsIgnoreCase("ACME") }
  (0,0,1024,100)

Small images
  { Rows.isLessThan("300") * Columns.isGreaterThan("100") }
  (0,0,50,10)
"""


def test_a_ctp_script_with_several_signatures(tmp_path: Path) -> None:
    script = tmp_path / "scripts" / "DicomPixelAnonymizer.script"
    script.parent.mkdir()
    script.write_text(OUR_SCRIPT, encoding="utf-8")
    profile = load_profile(_write_profile(tmp_path, "pixels:\n  sources: [ctp:scripts/DicomPixelAnonymizer.script]\n"))
    group = compile_rules(profile.pixels).groups[0]
    assert group.mode == "first"
    assert [r.name for r in group.rules] == [
        "ctp:scripts/DicomPixelAnonymizer.script signature 1 (GE dose report)",
        "ctp:scripts/DicomPixelAnonymizer.script signature 2 (ACME ultrasound, 768 rows)",
        "ctp:scripts/DicomPixelAnonymizer.script signature 3 (ACME catch-all (the first match alone applies))",
        "ctp:scripts/DicomPixelAnonymizer.script signature 4 (Small images)",
    ]
    assert [r.origin for r in group.rules] == [
        "DicomPixelAnonymizer.script:5",
        "DicomPixelAnonymizer.script:10",
        "DicomPixelAnonymizer.script:16",
        "DicomPixelAnonymizer.script:20",
    ]
    assert group.rules[1].blank == ((0, 0, 1024, 60), (200, 60, 220, 80), (800, 65, 904, 79))

    us = decide(_us(Manufacturer="Acme Medical", ManufacturerModelName="Model 7", Rows=768), profile.pixels)
    assert [(b.x0, b.y0, b.x1, b.y1) for b in us.boxes] == [(0, 0, 1024, 60), (200, 60, 220, 80), (800, 65, 904, 79)]
    assert len(us.rules) == 1  # the catch-all also matches, but the first match wins

    excluded_model = decide(_us(Manufacturer="ACME", ManufacturerModelName="Model 7X", Rows=768), profile.pixels)
    assert excluded_model.rules == (group.rules[2].name,)

    ct = Dataset()
    ct.Modality, ct.Manufacturer, ct.SeriesDescription = "CT", "GE Medical Systems", "dose report"
    ct.Rows, ct.Columns = 512, 512
    assert decide(ct, profile.pixels).boxes == (Box(0, 0, 512, 110, group.rules[0].name),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom: "ct" is not a valid CS value
        ct.Modality = "ct"  # equals is case-sensitive in CTP
    assert decide(ct, profile.pixels).boxes == ()

    real_ct = _header(CT)  # 128 x 128 GE CT: only the small-image signature
    assert [b.label for b in decide(real_ct, profile.pixels).boxes] == [group.rules[3].name]


@pytest.mark.parametrize(
    "script, fragments",
    [
        ('{ Modality.equals("US") }\n(0,0,10)\n', ["s.script:2", "signature 1", "is not (x,y,width,height)"]),
        (
            'Title\n\n{ Modality.resembles("US") }\n(0,0,10,10)\n',
            ["s.script:3", "signature 1 (Title)", "unknown method 'resembles'"],
        ),
        ('{ Modality.equals("US") * }\n(0,0,10,10)\n', ["s.script:1", "unexpected 'end of signature'"]),
        ('{ (Modality.equals("US") }\n(0,0,10,10)\n', ["s.script:1", "without its ')'"]),
        ('{ Modalty.equals("US") }\n(0,0,10,10)\n', ["s.script:1", "'Modalty' is neither a DICOM keyword"]),
        ("no signatures at all\n", ["no signature"]),
    ],
)
def test_bad_ctp_scripts_name_the_line_and_signature(tmp_path: Path, script: str, fragments: list[str]) -> None:
    with pytest.raises(RuleError) as caught:
        parse_ctp_script(script, tmp_path / "s.script", "ctp:s.script")
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


# -- the profile's pixels section ---------------------------------------------------------------------


def test_basic_uses_the_deid_device_list_and_ocr() -> None:
    pixels = load_profile("basic").pixels
    assert [s.written for s in pixels.sources] == ["deid:dicom"]
    assert pixels.regions == ()
    ocr = pixels.ocr
    assert (ocr.enabled, ocr.scan, ocr.confidence, ocr.padding, ocr.language) == (True, "auto", 60.0, 3, "eng")
    assert load_profile("research").pixels == pixels  # inherited
    assert len(compile_rules(pixels)) == 118


def test_a_profile_extends_the_pixel_settings(tmp_path: Path) -> None:
    path = _write_profile(
        tmp_path,
        """\
        pixels:
          regions:
            - name: ACME banner
              when: {Modality: US, Manufacturer: {contains: acme}}
              blank: [[0, 0, 1024, 60]]
          ocr:
            confidence: 75
            scan: {modalities: [CT], sop_classes: ["1.2.840.10008.5.1.4.1.1.88.*"]}
        """,
    )
    pixels = load_profile(path).pixels
    assert [s.written for s in pixels.sources] == ["deid:dicom"]  # inherited: not given here
    assert [r.name for r in pixels.regions] == ["ACME banner"]
    assert pixels.regions[0].origin == "site.yaml:5"
    assert (pixels.ocr.confidence, pixels.ocr.padding, pixels.ocr.scan) == (75.0, 3, "auto")
    assert pixels.ocr.modalities == ("CT",) and pixels.ocr.sop_classes == ("1.2.840.10008.5.1.4.1.1.88.*",)
    rules = compile_rules(pixels)
    assert [g.source for g in rules.groups] == ["deid:dicom", "profile regions"]
    decision = decide(_us(Manufacturer="ACME"), pixels)
    assert Box(0, 0, 1024, 60, "ACME banner") in decision.boxes

    child = tmp_path / "child.yaml"
    child.write_text(
        "name: child\nextends: site.yaml\npixels:\n  sources: []\n  ocr: {enabled: false}\n", encoding="utf-8"
    )
    pixels = load_profile(child).pixels
    assert pixels.sources == ()  # replaced
    assert [r.name for r in pixels.regions] == ["ACME banner"]  # kept
    assert (pixels.ocr.enabled, pixels.ocr.confidence) == (False, 75.0)


@pytest.mark.parametrize(
    "pixels, fragments",
    [
        (
            "pixels:\n  regions:\n    - name: banner\n      when: {Modality: US}\n      blank: [[0, 0, 10]]\n",
            [":5: pixels region 1 ('banner')", "four numbers"],
        ),
        (
            "pixels:\n  regions:\n    - {name: a, when: true, blank: all}\n"
            "    - name: b\n      when: {Modalty: US}\n      blank: all\n",
            [":6: pixels region 2 ('b')", "'Modalty' is neither a DICOM keyword"],
        ),
        (
            "pixels:\n  regions:\n    - name: c\n      when: {Manufacturer: {regex: '(acme'}}\n      clean: true\n",
            [":5: pixels region 1 ('c')", "bad regular expression"],
        ),
        (
            "pixels:\n  sources: [deid:dicom, missing.deid]\n",
            [":4: pixels source 'missing.deid'", "no deid recipe at", "deid:dicom.ultrasound"],
        ),
        (
            "pixels:\n  sources:\n    - ctp:nothing.script\n",
            [":5: pixels source 'ctp:nothing.script'", "no CTP script at"],
        ),
        ("pixels:\n  sources: deid:dicom\n", [":4:", "pixels.sources is a list"]),
        ("pixels:\n  ocr: {confidence: 150}\n", [":4: pixels.ocr", "confidence is a number from 0 to 100"]),
        ("pixels:\n  ocr:\n    enabled: yes please\n", [":5: pixels.ocr", "enabled is true or false"]),
        ("pixels:\n  ocr: {language: 'eng; rm -rf'}\n", [":4: pixels.ocr", "language is Tesseract's"]),
        ("pixels:\n  ocr: {scan: sometimes}\n", [":4: pixels.ocr", "scan is auto, all, or a mapping"]),
        ("pixels:\n  ocr: {scan: {auto: false}}\n", [":4: pixels.ocr", "nothing would be read"]),
        ("pixels:\n  ocr: {scan: {sop_classes: [CT]}}\n", [":4: pixels.ocr", "'CT' is not a UID"]),
        ("pixels:\n  ocr: {engine: easyocr}\n", [":4: pixels.ocr", "unknown key(s) engine"]),
        ("pixels:\n  masks: []\n", [":4:", "pixels has unknown key(s) masks"]),
        ("pixels: [deid:dicom]\n", [":3:", "'pixels' is a mapping"]),
    ],
)
def test_invalid_pixel_sections_name_file_line_and_rule(tmp_path: Path, pixels: str, fragments: list[str]) -> None:
    path = _write_profile(tmp_path, pixels, name="bad.yaml")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message
