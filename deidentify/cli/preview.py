"""``deidentify preview FILE``: what pixel cleaning masks in one file, drawn beside the result."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..profile import ProfileError
from . import COMMANDS
from .options import add_profile_arguments, profile_of, refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``preview`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser("preview", help=COMMANDS["preview"])
    cmd.add_argument("file", type=Path, metavar="FILE", help="one DICOM image (it is only read)")
    cmd.add_argument("-o", "--output", type=Path, default=Path("preview.png"), metavar="PNG",
                     help="the picture to write (default: %(default)s); it shows the original image, so it "
                          "is as private as the file")
    add_profile_arguments(cmd)
    cmd.add_argument("--frame", type=int, default=None, metavar="N",
                     help="which frame, counting from 1 (default: the first with a masked region)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Write the picture; 2 for a bad profile or a file that cannot be previewed."""
    from ..preview import PreviewError, preview_file

    try:
        # The caption and messages count frames from 1, as viewers do; the library counts from 0.
        preview_file(args.file, profile_of(args), args.output, frame=None if args.frame is None else args.frame - 1)
    except (ProfileError, PreviewError) as exc:
        return refuse(exc, "preview")
    print(f"wrote {args.output}")
    return 0
