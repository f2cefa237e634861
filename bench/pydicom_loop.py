"""The floor of any pydicom-based tool: read every file and write it back unchanged.

    python bench/pydicom_loop.py IN OUT

Reads each file in IN (one level, sorted) with pydicom.dcmread and writes it to OUT under
the same name with Dataset.save_as: no element is changed.  Run with the project's .venv.
"""

import os
import sys

import pydicom


def main(src: str, dst: str) -> int:
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        ds = pydicom.dcmread(os.path.join(src, name))
        ds.save_as(os.path.join(dst, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
