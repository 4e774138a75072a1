"""``python -m kit``: the kit's command line (see ``kit.cli``)."""

import sys

from kit.cli import main

if __name__ == "__main__":  # not when a worker process imports it as __mp_main__
    sys.exit(main())
