"""`python -m face_assets.cli`: the same as the `face-assets` command."""

import sys

from face_assets.cli import main

sys.exit(main())
