"""`python -m graphrt`."""

import sys

from graphrt.fronts.cli import main

sys.exit(main())
