from .synthetic_coco import CLASSES as SYNTHETIC_CLASSES
from .synthetic_coco import make_synthetic_coco
from .synthetic_imagenet import TEXTURES as SYNTHETIC_TEXTURES
from .synthetic_imagenet import make_synthetic_imagenet
from . import vovnet_checkpoints

__all__ = ['SYNTHETIC_CLASSES', 'SYNTHETIC_TEXTURES', 'make_synthetic_coco',
           'make_synthetic_imagenet', 'vovnet_checkpoints']
