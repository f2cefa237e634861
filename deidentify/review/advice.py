"""What to do about a file that was not written: advice by the family of its reason.

The pipeline's reasons say what happened (``burnt-in text not cleaned (no text
detector: ...)``, ``over the limit: sequences nested deeper than 64``); a
records officer needs what to do next.  :func:`advice_for` maps a report row's
status and reason to an :class:`Advice`: a short family name, the action that
would fix it (commands included), and whether anything needs doing at all.

The table is ordered: the first family whose pattern matches wins, so the
specific ones (a bound named inside a burnt-in reason) come before the general
ones.  A reason no family knows gets :data:`FALLBACK`; the tests run the sample
and the hostile files and check that none does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..outcome import Status

#: The command that redoes withheld and failed inputs once the cause is fixed.
RETRY = "deidentify run SRC DST --retry-withheld (same profile and key)"
#: What a changed profile needs: a run into the same DST with another profile is refused without it.
RESTART = "deidentify run SRC DST --restart (a changed profile is a new run: it removes the earlier outputs first)"
_DAMAGED = (
    "The file is damaged or does not follow the DICOM standard, so it cannot be de-identified with certainty. "
    "Export it again from the modality or PACS and put the new copy in SRC: the next run redoes a changed file. "
    "If no good copy exists, leave it out."
)


@dataclass(frozen=True)
class Advice:
    """What to do about one family of reasons."""

    family: str
    """A short name for the family, a heading on the review page."""
    action: str
    """What would fix it, in words and commands (SRC, DST and FILE stand for the run's own)."""
    needed: bool = True
    """False when nothing needs doing (a file that is not DICOM, one left out on purpose)."""


@dataclass(frozen=True)
class _Family:
    statuses: frozenset[str] | None  # None: any status
    pattern: re.Pattern[str]
    advice: Advice


def _family(pattern: str, family: str, action: str, *, statuses: tuple[str, ...] | None = None,
            needed: bool = True) -> _Family:
    return _Family(None if statuses is None else frozenset(statuses), re.compile(pattern),
                   Advice(family, action, needed))


def _bound(pattern: str, what: str, option: str, note: str = "") -> _Family:
    return _family(
        pattern, f"over a bound: {what}",
        f"The file is over a bound that protects the run from broken and hostile files ({what}). If it is a "
        f"genuine study (a long RT structure set, a large multi-frame image), raise the bound for this run: "
        f"deidentify run SRC DST --retry-withheld {option} (same profile and key){note}. A file far over the "
        "bound is more likely broken or hostile: leave it out.")


_FAMILIES: tuple[_Family, ...] = (
    # --- nothing to do ---------------------------------------------------------------------------------
    _family(r"", "not a DICOM instance",
            "Nothing to do: it is not a DICOM instance (an empty file, another kind of file, "
            "or a DICOMDIR index), and a release holds only DICOM instances.",
            statuses=(Status.NOT_DICOM,), needed=False),
    _family(r"", "left out by the profile's filter",
            "Nothing to do: a filter of the profile left it out on purpose (the reason names the filter). If it "
            f"should go after all, change the profile's filter and run again: {RESTART}.",
            statuses=(Status.FILTERED,), needed=False),
    _family(r"^a symbolic link to a folder already walked", "a second way to a folder",
            "Nothing to do: the folder's files were read once, by the other way to them.", needed=False),
    _family(r"^a symbolic link into the run's output or state folder", "a link into DST or the state folder",
            "Nothing to do: the run never reads its own outputs. Remove the link from SRC to drop the row.",
            needed=False),
    _family(r"^not a regular file", "not a regular file",
            "Nothing to do: a FIFO, socket or device in SRC is never read. Remove it from SRC to drop the row.",
            needed=False),
    # --- bounds: before the burnt-in families, whose reasons may name one ------------------------------
    _bound(r"over the limit: took longer than", "time per file", "--max-seconds-per-file S"),
    _bound(r"over the limit: needs more memory", "memory per worker",
           "--max-memory-per-worker SIZE",
           "; fewer --workers also leave each worker more"),
    _bound(r"over the limit: a file larger than", "file size", "--max-file-size SIZE"),
    _bound(r"over the limit: deflated data inflating", "inflated size of deflated data",
           "--limit max_inflated_bytes=N"),
    _bound(r"over the limit: an image decoding to more than", "decoded image size", "--limit max_pixel_bytes=N"),
    _bound(r"over the limit: sequences nested deeper", "sequence depth", "--limit max_depth=N"),
    _bound(r"over the limit: a sequence holds more than", "items per sequence", "--limit max_items=N"),
    _bound(r"over the limit: more than [\d,]+ data elements", "elements per file", "--limit max_elements=N"),
    # --- burnt-in text ---------------------------------------------------------------------------------
    _family(r"^burnt-in text not cleaned \(no text detector", "no text detector",
            "The image may carry burnt-in text and no text detector could read it on this machine. Install "
            "the one the reason names (the text detector: pip install 'rapidocr>=3.10,<4' onnxruntime openvino; "
            "Tesseract: apt-get install tesseract-ocr), then run again: " + RETRY + "."),
    _family(r"^burnt-in text not cleaned \(no region rule covers it and OCR is off\)", "OCR off, no region rule",
            "The profile turns OCR off and no region rule covers this device's images. Look at the image "
            "(deidentify preview FILE -o preview.png, FILE being its quarantine copy), then either turn OCR on "
            "in the profile (pixels: ocr: enabled: true) or add a region rule that masks where this device "
            f"writes its text (README: 'Burnt-in text'). A changed profile needs {RESTART}."),
    _family(r"^burnt-in text not cleaned \(BurnedInAnnotation is YES but no text was found",
            "header says burnt-in text, none found",
            "The header says text is burnt into the pixels, but OCR found none to mask, so the image is held "
            "back rather than trusted. Look at it (deidentify preview FILE -o preview.png, FILE being its "
            "quarantine copy). If text is there, add a region rule that masks where this device writes it; if "
            "the image truly holds none, a region rule that declares this device's images clean lets them "
            f"through. A changed profile needs {RESTART}."),
    _family(r"^burnt-in text not cleaned \((the pixel stage failed|OCR failed)", "the pixel stage failed",
            "The pixel stage failed on this image (an exception in deidentify or its OCR engine), so its text "
            "was not masked. Report the file id and reason to the maintainers of deidentify (the quarantine "
            "copy reproduces it, and holds PHI: never send it); after an upgrade, " + RETRY + "."),
    _family(r"^burnt-in text not cleaned \((a frame's codestream header|a frame holds data after|pixel data is "
            r"shorter|pixel data holds (fewer|more) frames|encapsulated pixel data cannot be parsed|image has no "
            r"rows|image pixel description)",
            "image does not match its header",
            "The image's pixel data does not match what its header describes, so its text cannot be masked "
            "with certainty. " + _DAMAGED),
    _family(r"^burnt-in text not cleaned \(.+\)$", "pixel data deidentify cannot mask",
            "The image may carry burnt-in text, and its kind of pixel data (named in the reason) is one "
            "deidentify cannot mask. Export it again from the modality or PACS in a common form (uncompressed "
            "8 or 16 bit, MONOCHROME2 or RGB) and run again, or leave it out of the release."),
    _family(r"^burnt-in text not cleaned$", "pixel cleaning off",
            "The profile does not clean pixel data (settings: clean_pixel_data: false), so every image that may "
            "carry burnt-in text is withheld. Use a profile that cleans them (basic does), and run again: "
            f"{RESTART}."),
    _family(r"^encapsulated document cannot be cleaned", "encapsulated document",
            "An encapsulated document (a PDF, a CDA, an STL model) can hold anything, and deidentify never "
            "passes one on. If the release does not need it, nothing to do (a reject filter in the profile "
            "makes such files 'filtered' on purpose). If it does, the document must be redacted and reviewed "
            "by hand, outside deidentify."),
    # --- the profile and the data it reads -------------------------------------------------------------
    _family(r"(not in the lookup table|to look up in the lookup table)", "not in the lookup table",
            "The profile's lookup table has no row for this file's patient (or the file has no key to look "
            "up). Add the row to the table (--lookup CSV, or the profile's lookup.file); a new table is a new "
            f"profile, so run again: {RESTART}."),
    _family(r"^a \S+ rule reads text, and \S+ values are bytes", "text rule on binary data",
            "A clean or regex rule of the profile selects elements whose values are bytes (OB, OW, UN...): "
            "read as text they would be written back as their bytes' repr, every byte in it. Change the rule "
            "so that it selects text elements only (by keyword, or a VR of text), or removes the binary ones, "
            f"then run again: {RESTART}."),
    _family(r"^cannot be written as DICOM \(no SOP Class or Instance UID left\)", "profile removes SOP UIDs",
            "The profile removes the SOP Class UID or SOP Instance UID, without which no receiver can store "
            "the file. Change its rules so that these are kept or replaced (action U), then run again: "
            f"{RESTART}."),
    _family(r"^verify: ", "found again by --verify",
            "run --verify checked the output against its input and found what the reason lists still there. "
            "Change the profile so those elements are removed or cleaned (deidentify explain FILE shows which "
            f"rule decides each), then run again: {RESTART}."),
    _family(r"^duplicate SOP Instance UID with different content", "duplicate SOP Instance UID",
            "Another input with the same SOP Instance UID was written first, and this one differs from it (a "
            "re-sent or edited copy). Ask the modality or PACS which copy is right. If it is this one, remove "
            f"the other from SRC and run again: {RESTART}. If it is the one written, nothing to do."),
    # --- the run itself ---------------------------------------------------------------------------------
    _family(r"^its worker process died", "worker died",
            "The process de-identifying this file was killed (SIGKILL mostly means the kernel ran out of "
            f"memory, or someone stopped it). Run again: {RETRY}; if it dies again, give each worker more "
            "memory (--max-memory-per-worker, fewer --workers) and report the file id and reason."),
    _family(r"^truncated \(waiting for the rest\)", "still arriving (watch)",
            "deidentify watch saw this file before it was whole: it is still arriving, or its copy stopped. "
            "Nothing to do if it completes (it is read again whenever it changes); otherwise send it again."),
    _family(r"^(cannot read|cannot enter the folder)", "could not be read",
            "The run could not read it (the reason says why: permission, a path too long, a disk error). Let "
            "the user running deidentify read the file (and enter its folders), shorten the path if it is too "
            f"long, then run again: {RETRY}."),
    _family(r"^a symbolic link to nothing", "dangling link",
            "A symbolic link in SRC points nowhere. Fix it or remove it, then run again."),
    _family(r"^no SOP Class UID or SOP Instance UID", "not a storable instance",
            "The file has no SOP Class or Instance UID, so no receiver could store it. Export it again from the "
            "source system; if it is not an image or report anyone needs, nothing to do."),
    _family(r"^(cannot be de-identified|cannot be written as DICOM) \(", "unexpected failure",
            "deidentify failed on this file in a way it did not expect (the exception's type is in the "
            "reason). Report the file id and reason to its maintainers (the quarantine copy reproduces it and "
            f"holds PHI: never send it); after an upgrade, {RETRY}."),
    _family(r"^(truncated|no pixel data: the file may be cut short|structure cannot be read|not readable as "
            r"DICOM|deflated data cannot be inflated|(element \([0-9A-F]{4},[0-9A-F]{4}\)|a private element|"
            r"an element outside the standard's dictionary) cannot be decoded|"
            r"a content item's concept name cannot be decoded|.*runs past the end of its item|"
            r"pixel data|a frame's codestream header|a frame holds data after|image has no rows|"
            r"image pixel description|a JPEG 2000 (tile-part|main) header|a JP2 box|codestream metadata cannot|"
            r"bits stored|photometric interpretation does not match|native pixel data with)",
            "damaged or non-conformant file", _DAMAGED),
)

#: The advice of a reason no family knows; the tests check that the sample and the hostile files never need it.
FALLBACK = Advice(
    "other",
    "No advice is known for this reason yet. Look at the file (deidentify explain FILE and deidentify preview "
    "FILE, FILE being its quarantine copy), and report the reason to the maintainers of deidentify.")


def advice_for(status: str, reason: str) -> Advice:
    """What to do about a file with ``status`` and ``reason`` (:data:`FALLBACK` when no family knows it)."""
    for family in _FAMILIES:
        if family.statuses is not None and str(status) not in family.statuses:
            continue
        if family.pattern.search(reason):
            return family.advice
    return FALLBACK


def families() -> list[Advice]:
    """Every family's advice, in the order they are tried (for the documentation and the tests)."""
    return [family.advice for family in _FAMILIES]
