from .synthetic_coco import CLASSES as SYNTHETIC_CLASSES
from .synthetic_coco import make_synthetic_coco
from . import vovnet_checkpoints

__all__ = ['SYNTHETIC_CLASSES', 'make_synthetic_coco', 'vovnet_checkpoints']
