"""`python -m xlqe_lite.cli ...` runs the `xlqe` command."""

import sys

from . import main

sys.exit(main())
