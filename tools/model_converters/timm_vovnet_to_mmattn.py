"""Convert a timm ``ese_vovnet*`` state dict for mmattn. The V-19 family is
exact for the default (official) layout; timm's V-39/57/99 have eSE only in
each stage's last block and load into ``VoVNet(..., ese_position='last')``.

    python tools/model_converters/timm_vovnet_to_mmattn.py ese_vovnet39b.pth checkpoints/ese_vovnet39b_mmattn.pth
"""
import sys

from _vovnet_convert import run

from mmattn.converters.vovnet_checkpoints import convert_timm

if __name__ == '__main__':
    sys.exit(run(__doc__.splitlines()[0], convert_timm, 'timm'))
