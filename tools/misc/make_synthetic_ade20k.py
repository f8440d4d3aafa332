"""Make the synthetic shapes set in ADE20K's layout, for mmseg configs
(see mmattn/cli/make_synthetic.py).

    python tools/misc/make_synthetic_ade20k.py OUT_DIR [--overwrite] ...
"""
import sys

from mmattn.cli.make_synthetic import ade20k_main

if __name__ == '__main__':
    sys.exit(ade20k_main())
