"""Publish a checkpoint (weights and meta only, sha256 in its name).
See mmattn/cli/publish_model.py."""
import sys

from mmattn.cli.publish_model import main

if __name__ == '__main__':
    sys.exit(main())
