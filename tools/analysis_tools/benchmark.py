"""Speed and memory of backbones, side by side with a reference in the same run
(see mmattn/cli/benchmark.py)."""
import sys

from mmattn.cli.benchmark import main

if __name__ == '__main__':
    sys.exit(main())
