"""Synthetic datasets made on the spot (no download): COCO-format shapes for
detection and instance segmentation, the same shapes in ADE20K's layout for
semantic segmentation, and an ImageNet-style texture set for pre-training.
Not imported by ``import mmattn`` (they need cv2)."""
from .shapes import CLASSES as SYNTHETIC_CLASSES
from .synthetic_ade20k import make_synthetic_ade20k
from .synthetic_coco import make_synthetic_coco
from .synthetic_imagenet import TEXTURES as SYNTHETIC_TEXTURES
from .synthetic_imagenet import make_synthetic_imagenet

__all__ = ['SYNTHETIC_CLASSES', 'SYNTHETIC_TEXTURES', 'make_synthetic_ade20k',
           'make_synthetic_coco', 'make_synthetic_imagenet']
