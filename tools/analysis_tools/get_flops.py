"""Parameters and FLOPs of a detector, a backbone or an attention block
(see mmattn/cli/get_flops.py)."""
import sys

from mmattn.cli.get_flops import main

if __name__ == '__main__':
    sys.exit(main())
