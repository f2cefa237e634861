"""``python -m deidentify.cli``: the ``deidentify`` command."""

import sys

from . import main

sys.exit(main())
