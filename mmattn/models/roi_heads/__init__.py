"""RoI heads: CenterMask's RoI stage (mask and MaskIoU heads, no box head)."""
from .centermask_roi_head import CenterMaskRoIHead
from .mask_heads import CenterMaskIoUHead, SAGMaskHead
from .roi_extractors import AreaRatioRoIExtractor

__all__ = ['AreaRatioRoIExtractor', 'CenterMaskIoUHead', 'CenterMaskRoIHead', 'SAGMaskHead']
