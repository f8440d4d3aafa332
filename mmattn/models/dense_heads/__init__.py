"""Dense heads: CenterMask's FCOS."""
from .centermask_fcos_head import CenterMaskFCOSHead

__all__ = ['CenterMaskFCOSHead']
