"""``python -m fouroptics``: the command line (:func:`fouroptics.cli.main`)."""

import sys

from fouroptics.cli import main

sys.exit(main())
