"""`python -m telesante`."""

import sys

from telesante.cli import main

sys.exit(main())
