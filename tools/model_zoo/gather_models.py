"""Publish finished zoo runs with their results. See mmattn/cli/gather_models.py."""
import sys

from mmattn.cli.gather_models import main

if __name__ == '__main__':
    sys.exit(main())
