"""Train and test zoo models, one work dir each. See mmattn/cli/run_zoo.py."""
import sys

from mmattn.cli.run_zoo import main

if __name__ == '__main__':
    sys.exit(main())
