"""Convert an official (detectron2/CenterMask) VoVNet checkpoint for mmattn's VoVNet
(see mmattn/cli/convert_checkpoints.py)."""
import sys

from mmattn.cli.convert_checkpoints import vovnet_detectron2_main

if __name__ == '__main__':
    sys.exit(vovnet_detectron2_main())
