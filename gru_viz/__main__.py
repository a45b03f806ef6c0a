"""``python -m gru_viz --help``."""

import sys

from gru_viz.cli import main

sys.exit(main())
