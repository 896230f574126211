"""Entry point of ``python -m search_web``."""

import sys

from search_web.cli import main

sys.exit(main())
