"""``python -m collab_hub``: same as ``collab-hub``."""

import sys

from .cli import main

sys.exit(main())
