"""Convert the backbone of an mmpretrain (mmengine) checkpoint into a backbone-only file
(see mmattn/cli/convert_checkpoints.py)."""
import sys

from mmattn.cli.convert_checkpoints import mmpretrain_main

if __name__ == '__main__':
    sys.exit(mmpretrain_main())
