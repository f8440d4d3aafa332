"""Synthetic datasets made on the spot (no download): COCO-format shapes for
detection and instance segmentation, and an ImageNet-style texture set for
pre-training. Not imported by ``import mmattn`` (they need cv2)."""
from .synthetic_coco import CLASSES as SYNTHETIC_CLASSES
from .synthetic_coco import make_synthetic_coco
from .synthetic_imagenet import TEXTURES as SYNTHETIC_TEXTURES
from .synthetic_imagenet import make_synthetic_imagenet

__all__ = ['SYNTHETIC_CLASSES', 'SYNTHETIC_TEXTURES', 'make_synthetic_coco',
           'make_synthetic_imagenet']
