"""``python -m pika``: the same command line as the ``pika`` console script."""

from __future__ import annotations

import sys

from pika.cli import main

if __name__ == '__main__':
    sys.exit(main())
