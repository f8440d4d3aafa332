"""Convert an official VoVNet checkpoint (youngwanLEE/vovnet-detectron2 or
CenterMask releases: .pth or .pkl, tensors or numpy arrays, with or without a
``model`` wrapper and the ``backbone.bottom_up.`` prefix) for mmattn.

    python tools/model_converters/vovnet_detectron2_to_mmattn.py vovnet39_ese_detectron2.pth checkpoints/vovnet39_ese_mmattn.pth
"""
import sys

from _vovnet_convert import run

from mmattn.converters.vovnet_checkpoints import convert_detectron2

if __name__ == '__main__':
    sys.exit(run(__doc__.splitlines()[0], convert_detectron2, 'detectron2'))
