"""Refuse a process count larger than the GPUs present (used by dist_*.sh)
(see mmattn/cli/check_nproc.py)."""
import sys

from mmattn.cli.check_nproc import main

if __name__ == '__main__':
    sys.exit(main())
