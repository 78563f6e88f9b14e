"""``python -m imds_iac_checks``."""

import sys

from imds_iac_checks.cli import main

sys.exit(main())
