"""Train a detector (MMDetection's interface). See mmattn/cli/train.py."""
import sys

from mmattn.cli.train import main

if __name__ == '__main__':
    sys.exit(main())
