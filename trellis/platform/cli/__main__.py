"""`python -m trellis.platform.cli …`: the `trellis` command."""

import sys

from trellis.platform.cli import main

sys.exit(main())
