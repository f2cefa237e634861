"""deid (pydicom/deid) over a folder, as its documentation shows: the default recipe.

    python bench/deid_run.py IN OUT [--limit N]

Lists the files of IN (one level, sorted; the first N with --limit) and calls
deid.dicom.replace_identifiers with deid's default DICOM recipe, save=True, into OUT.
Run with the bench environment (bench/.venv-peers).
"""

import argparse
import os
import sys

from deid.config import DeidRecipe
from deid.dicom import replace_identifiers
from deid.logger import bot


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    bot.level = 1  # errors only
    files = sorted(os.path.join(args.src, n) for n in os.listdir(args.src))
    if args.limit:
        files = files[: args.limit]
    os.makedirs(args.dst, exist_ok=True)
    replace_identifiers(files, deid=DeidRecipe(), save=True, output_folder=args.dst, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
