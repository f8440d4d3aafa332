from .synthetic_coco import CLASSES as SYNTHETIC_CLASSES
from .synthetic_coco import make_synthetic_coco

__all__ = ['SYNTHETIC_CLASSES', 'make_synthetic_coco']
