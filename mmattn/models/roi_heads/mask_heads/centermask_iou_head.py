"""MaskIoU head as CenterMask uses it (Lee & Park, CVPR 2020; the design of
Mask Scoring R-CNN), as in ``youngwanLEE/centermask2:
centermask/modeling/centermask/maskiou_head.py`` and ``mask_head.py``."""
from typing import List

import torch
from mmdet.models.roi_heads.mask_heads import MaskIoUHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.utils import InstanceList

from mmattn.registry import register


def mask_iou_targets(mask_logits: torch.Tensor, mask_targets: torch.Tensor,
                     area_ratios: torch.Tensor) -> torch.Tensor:
    """IoU of each predicted mask (logits > 0) with its whole ground-truth
    object, on the RoI's mask grid, as the official ``mask_rcnn_loss``:
    the object's full area is its area inside the RoI divided by
    ``area_ratios`` (inside-RoI area / whole area, clamped to [1e-10, 1]);
    the union is at least 1 cell.

    mask_logits, mask_targets: (n, h, w); area_ratios: (n,).
    """
    ratios = area_ratios.to(torch.float64).clamp(min=1e-10, max=1.0)
    predicted = (mask_logits > 0).to(torch.float64)
    targets = mask_targets.to(torch.float64)
    full_areas = targets.sum(dim=(1, 2)) / ratios
    overlaps = (predicted * targets).sum(dim=(1, 2)).clamp(min=0)
    unions = (predicted.sum(dim=(1, 2)) + full_areas - overlaps).clamp(min=1.0)
    return (overlaps / unions).to(mask_logits.dtype)


def rescore_masks(scores: torch.Tensor, labels: torch.Tensor,
                  mask_iou_pred: torch.Tensor) -> torch.Tensor:
    """CenterMask's mask scores: the detection score times the predicted
    mask IoU of the detected class. (Box scores stay as they are.)"""
    if labels.numel() == 0:
        return scores.new_zeros(0)
    return scores * mask_iou_pred[torch.arange(labels.numel(), device=labels.device), labels]


@register()
class CenterMaskIoUHead(MaskIoUHead):
    """mmdet's ``MaskIoUHead`` (RoI features concatenated with the max-pooled
    sigmoid of the class's mask logits; 4 convs, the last at stride 2; fc
    1024, fc 1024, fc num_classes), called as
    ``head(roi_feats, mask_logits_of_the_class)``, with CenterMask's
    initialisation (convs and both fcs Kaiming normal fan-out, the predictor
    N(0, 0.01)) and targets (``mask_iou_targets``: predicted mask = logits > 0,
    where mmdet compares the logits with ``mask_thr_binary``). The loss is L2
    on targets above 0, ``0.5 * mean((pred - target)^2)``: mmdet's
    ``MSELoss(loss_weight=0.5)``, the official ``l2_loss``."""

    def __init__(self, *args, init_cfg=None, **kwargs) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', mode='fan_out', nonlinearity='relu', distribution='normal',
                     override=[dict(name='convs'), dict(name='fcs')]),
                dict(type='Normal', std=0.01, override=dict(name='fc_mask_iou')),
            ]
        super().__init__(*args, init_cfg=init_cfg, **kwargs)

    def get_targets(self, sampling_results: List[SamplingResult],
                    batch_gt_instances: InstanceList, mask_preds: torch.Tensor,
                    mask_targets: torch.Tensor, rcnn_train_cfg=None) -> torch.Tensor:
        ratios = torch.cat([
            self._get_area_ratio(res.pos_priors, res.pos_assigned_gt_inds, gt.masks)
            for res, gt in zip(sampling_results, batch_gt_instances)])
        return mask_iou_targets(mask_preds, mask_targets, ratios)
