"""ImageNet pre-training of mmattn's backbones through mmpretrain (the optional
``pretrain`` extra: ``pip install -e ".[pretrain]"``).

Importing this module (the ImageNet configs do, through ``custom_imports``)
registers ``EPSANet`` and ``VoVNet`` in mmpretrain's model registry, so an
mmpretrain ``ImageClassifier`` config can name them as its backbone, with
mmpretrain's ``tools/train.py`` as with ours. This is the only part of mmattn
that imports mmpretrain.
"""
import mmattn  # noqa: F401  (mmattn's own registrations first)

try:
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
except Exception as error:  # ImportError, or a torchvision that does not load
    raise ImportError(
        f'mmattn.pretrain needs mmpretrain 1.2 and a torchvision that matches the installed '
        f'torch ({type(error).__name__}: {error}). Install them with: '
        'pip install -e ".[pretrain]" '
        '(or bash tools/setup_env.sh --pretrain)') from error

from mmattn.models.backbones import EPSANet, VoVNet
from mmattn.registry import register_class

for _backbone in (EPSANet, VoVNet):
    register_class(MMPRETRAIN_MODELS, _backbone)

__all__ = ['EPSANet', 'VoVNet']
