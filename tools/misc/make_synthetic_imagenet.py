"""Make the synthetic texture set in mmpretrain's ImageNet layout
(see mmattn/cli/make_synthetic.py).

    python tools/misc/make_synthetic_imagenet.py OUT_DIR [--overwrite] ...
"""
import sys

from mmattn.cli.make_synthetic import imagenet_main

if __name__ == '__main__':
    sys.exit(imagenet_main())
