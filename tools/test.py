"""Test a checkpoint (MMDetection's interface). See mmattn/cli/test.py."""
import sys

from mmattn.cli.test import main

if __name__ == '__main__':
    sys.exit(main())
