"""RoI feature extraction with CenterMask's adaptive level assignment
(Lee & Park, CVPR 2020, Eq. 2), as ``assign_boxes_to_levels_by_ratio`` in
``youngwanLEE/centermask2: centermask/modeling/centermask/pooler.py``."""
import math
import sys
from typing import List, Sequence, Tuple

import torch
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

from mmattn.registry import register


def area_ratio_levels(rois: torch.Tensor, img_shapes: Sequence[Tuple[int, int]],
                      min_level: int, max_level: int) -> torch.Tensor:
    """Pyramid level of each RoI, ``ceil(max_level - log2(A_img / A_roi))``
    clamped to ``[min_level, max_level]`` (k = ceil(5 - log2(A_img / A_roi))
    on P3-P5), as an offset from ``min_level``.

    ``rois`` is (n, 5): batch index, x1, y1, x2, y2; ``img_shapes[i]`` the
    (h, w) of image i as resized, unpadded (``img_shape``). Areas are
    (x2 - x1) * (y2 - y1) as in detectron2; the official code adds the
    machine epsilon to the ratio, kept here.
    """
    areas = torch.as_tensor([float(h) * float(w) for h, w in img_shapes], dtype=torch.float32,
                            device=rois.device)
    return levels_by_area_ratio(rois[:, 1:], areas[rois[:, 0].long()], min_level, max_level)


def levels_by_area_ratio(boxes: torch.Tensor, img_areas: torch.Tensor, min_level: int,
                         max_level: int) -> torch.Tensor:
    """``area_ratio_levels`` for (R, 4) boxes and each box's image area (R,)."""
    roi_areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    levels = torch.ceil(max_level - torch.log2(img_areas / roi_areas + sys.float_info.epsilon))
    return levels.clamp(min=min_level, max=max_level).long() - min_level


@register()
class AreaRatioRoIExtractor(SingleRoIExtractor):
    """``SingleRoIExtractor`` whose level for a RoI depends on its area
    relative to its image's (CenterMask), not on its absolute scale (FPN).
    Levels come from ``featmap_strides`` (8, 16, 32 -> P3-P5).

    ``forward(feats, rois, img_shapes)`` needs the images' resized, unpadded
    shapes; without them it raises ``ValueError``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        levels = [math.log2(s) for s in self.featmap_strides]
        if any(level != int(level) for level in levels) or \
                any(b - a != 1 for a, b in zip(levels, levels[1:])):
            raise ValueError(f'AreaRatioRoIExtractor: featmap_strides={self.featmap_strides} '
                             'must be consecutive powers of 2 (e.g. [8, 16, 32])')
        self.min_level, self.max_level = int(levels[0]), int(levels[-1])

    def forward(self, feats: Tuple[torch.Tensor], rois: torch.Tensor,
                img_shapes: List[Tuple[int, int]] = None, roi_scale_factor=None) -> torch.Tensor:
        if img_shapes is None:
            raise ValueError('AreaRatioRoIExtractor.forward: img_shapes (each image\'s resized, '
                             'unpadded (h, w)) is required for the area-ratio level assignment')
        feats = feats[:len(self.featmap_strides)]
        size = self.roi_layers[0].output_size
        roi_feats = feats[0].new_zeros(rois.size(0), self.out_channels, *size)
        if rois.size(0) == 0:
            return roi_feats
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        levels = area_ratio_levels(rois, img_shapes, self.min_level, self.max_level)
        for i, layer in enumerate(self.roi_layers):
            inds = (levels == i).nonzero(as_tuple=True)[0]
            if inds.numel() > 0:
                roi_feats[inds] = layer(feats[i], rois[inds]).to(roi_feats.dtype)
            else:  # keep every level in the graph (DDP needs all parameters used)
                roi_feats = roi_feats + feats[i].sum() * 0.
        return roi_feats
