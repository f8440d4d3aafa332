"""Mask heads: CenterMask's SAG-Mask and MaskIoU heads."""
from .centermask_iou_head import CenterMaskIoUHead, mask_iou_targets, rescore_masks
from .sag_mask_head import SAGMaskHead

__all__ = ['CenterMaskIoUHead', 'SAGMaskHead', 'mask_iou_targets', 'rescore_masks']
