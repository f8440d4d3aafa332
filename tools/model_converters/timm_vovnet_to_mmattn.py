"""Convert a timm ese_vovnet* checkpoint for mmattn's VoVNet
(see mmattn/cli/convert_checkpoints.py)."""
import sys

from mmattn.cli.convert_checkpoints import timm_vovnet_main

if __name__ == '__main__':
    sys.exit(timm_vovnet_main())
