"""``python -m timepoint``: the same command line as ``timepoint``."""

import sys

from timepoint.cli import main

sys.exit(main())
