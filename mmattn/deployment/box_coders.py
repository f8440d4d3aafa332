"""mmdet's box decoders, written again for export: mmdet 3.3's own ONNX
branches import ``mmdet.core``, which no longer exists, and clip in place.
The arithmetic is mmdet's (``distance2bbox``, ``delta2bbox``);
``tests/test_detector_onnx.py`` checks equality with mmdet's coders."""
import math
from typing import Sequence

import torch
import torch.nn as nn


def _clip(boxes: torch.Tensor, max_shape: Sequence) -> torch.Tensor:
    """Boxes (..., 4k) clipped to [0, W] x [0, H] (``max_shape`` (H, W))."""
    h, w = max_shape[0], max_shape[1]
    shape = boxes.shape
    boxes = boxes.reshape(-1, 4)
    x1, y1, x2, y2 = boxes.unbind(-1)
    boxes = torch.stack([x1.clamp(min=0, max=w), y1.clamp(min=0, max=h),
                         x2.clamp(min=0, max=w), y2.clamp(min=0, max=h)], -1)
    return boxes.reshape(shape)


def distance_decode(coder: nn.Module, points: torch.Tensor, distances: torch.Tensor,
                    max_shape: Sequence) -> torch.Tensor:
    """``DistancePointBBoxCoder`` (FCOS): (M, 2) points and (M, 4) distances
    left, top, right, bottom."""
    boxes = torch.cat([points - distances[:, :2], points + distances[:, 2:]], dim=-1)
    return _clip(boxes, max_shape) if coder.clip_border else boxes


def delta_decode(coder: nn.Module, rois: torch.Tensor, deltas: torch.Tensor,
                 max_shape: Sequence) -> torch.Tensor:
    """``DeltaXYWHBBoxCoder``: (M, 4) boxes and (M, 4 * classes) deltas."""
    num_classes = deltas.shape[1] // 4
    deltas = deltas.reshape(-1, 4)
    means = deltas.new_tensor(coder.means).reshape(1, -1)
    stds = deltas.new_tensor(coder.stds).reshape(1, -1)
    deltas = deltas * stds + means
    dxy, dwh = deltas[:, :2], deltas[:, 2:]
    rois = rois.repeat(1, num_classes).reshape(-1, 4)
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(16 / 1000))  # mmdet's wh_ratio_clip
    if coder.add_ctr_clamp:
        dxy_wh = dxy_wh.clamp(min=-coder.ctr_clamp, max=coder.ctr_clamp)
        dwh = dwh.clamp(max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    if coder.clip_border:
        boxes = _clip(boxes, max_shape)
    return boxes.reshape(-1, 4 * num_classes)


def decode(coder: nn.Module, priors: torch.Tensor, preds: torch.Tensor,
           max_shape: Sequence) -> torch.Tensor:
    """``coder.decode(priors, preds, max_shape)`` for the coders mmattn's
    exported detectors use; UsageError for another."""
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder, DistancePointBBoxCoder

    from mmattn.utils.errors import UsageError
    if isinstance(coder, DistancePointBBoxCoder):
        return distance_decode(coder, priors, preds, max_shape)
    if isinstance(coder, DeltaXYWHBBoxCoder):
        return delta_decode(coder, priors, preds, max_shape)
    raise UsageError(f'box coder {type(coder).__name__} cannot be exported; supported: '
                     'DistancePointBBoxCoder (FCOS), DeltaXYWHBBoxCoder (RetinaNet, R-CNN)')
