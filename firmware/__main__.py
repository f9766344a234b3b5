"""`python -m firmware` is the same as the `ivrbox` command."""

import sys

from firmware.cli import main

sys.exit(main())
