"""Convert an official centermask2 checkpoint for configs/centermask/
(see mmattn/cli/convert_checkpoints.py)."""
import sys

from mmattn.cli.convert_checkpoints import centermask2_main

if __name__ == '__main__':
    sys.exit(centermask2_main())
