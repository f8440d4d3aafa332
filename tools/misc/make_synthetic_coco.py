"""Make the synthetic COCO-format shapes set
(see mmattn/cli/make_synthetic.py).

    python tools/misc/make_synthetic_coco.py OUT_DIR [--overwrite] ...
"""
import sys

from mmattn.cli.make_synthetic import coco_main

if __name__ == '__main__':
    sys.exit(coco_main())
