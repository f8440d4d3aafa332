"""Two-stage detectors (Faster R-CNN, Mask R-CNN: mmdet's ``RPNHead`` and
``StandardRoIHead`` with a box head and, optionally, an FCN mask head) as one
graph: ``input`` -> ``dets``, ``labels`` (and ``masks``).

Follows mmdet's predict step by step: RPN per level the ``nms_pre`` best
anchors, decoded and clipped, boxes with a side not above ``min_bbox_size``
dropped, NMS within each level, the ``max_per_img`` best as proposals; the
box head on them (softmax scores, class-specific boxes), pairs of box and
class above ``score_thr``, class-aware NMS, the ``max_per_img`` best; the
mask head on those boxes (the real detections only), each detection's class
channel, sigmoid. Every
image keeps a fixed number of rows (``postprocess``); the deviations of
``single_stage`` apply (clipping to the input; NMS in input coordinates,
which mmdet also uses for Mask R-CNN).
"""
from typing import Tuple

import torch
import torch.nn as nn

from ..box_coders import decode
from ..onnx_ops import ROI_ALIGN_MIN_OPSET
from ..postprocess import batched_nms, gather_rows, top_candidates
from .roi_features import detection_rows, fpn_levels, pooled_features, scatter_rows
from .single_stage import (decode_boxes, dense_head_config, drop_small_boxes, flat_level,
                           level_scores, nms_iou_threshold, nms_split_thr)

RCNN_NMS = 'test_cfg.rcnn.nms'


def proposals(rpn_head: nn.Module, feats,
              input_shape: Tuple) -> Tuple[torch.Tensor, torch.Tensor]:
    """(boxes (N, P, 4), valid (N, P)) of mmdet's ``RPNHead.predict``."""
    cfg = dense_head_config(rpn_head)
    cls_scores, bbox_preds = rpn_head(feats)
    sizes = [c.shape[-2:] for c in cls_scores]
    anchors = rpn_head.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype,
                                                   device=cls_scores[0].device)
    n = cls_scores[0].shape[0]
    scores, boxes, levels = [], [], []
    for level, (cls_score, bbox_pred, anchor) in enumerate(zip(cls_scores, bbox_preds, anchors)):
        score, where, _ = top_candidates(level_scores(rpn_head, cls_score), 0.0, cfg['nms_pre'])
        preds = gather_rows(flat_level(bbox_pred, rpn_head.bbox_coder.encode_size), where)
        chosen = gather_rows(anchor[None].expand(n, -1, -1), where)
        boxes.append(decode_boxes(rpn_head, chosen, preds, input_shape))
        scores.append(score)
        levels.append(torch.full_like(where, level))
    boxes = torch.cat(boxes, 1)
    scores = drop_small_boxes(boxes, torch.cat(scores, 1), cfg['min_bbox_size'])
    dets, labels, _ = batched_nms(boxes, scores, torch.cat(levels, 1), cfg['iou'],
                                  cfg['max_per_img'], num_classes=len(levels),
                                  split_thr=cfg['split_thr'])
    return dets[..., :4], labels >= 0


def box_detections(roi_head: nn.Module, feats, rois: torch.Tensor, valid: torch.Tensor,
                   input_shape: Tuple) -> Tuple[torch.Tensor, torch.Tensor]:
    """``dets`` and ``labels`` of mmdet's ``StandardRoIHead.predict_bbox``
    for the RoIs (N, P, 4) of which ``valid`` are real."""
    from mmattn.utils.errors import UsageError
    head, cfg = roi_head.bbox_head, roi_head.test_cfg
    if getattr(head, 'custom_cls_channels', False) or head.reg_class_agnostic:
        raise UsageError(f'{type(head).__name__} with custom classification channels or '
                         'class-agnostic regression cannot be exported')
    n, p = rois.shape[:2]
    extractor = roi_head.bbox_roi_extractor
    flat = rois.reshape(n * p, 4)
    images = torch.arange(n, device=rois.device)[:, None].expand(n, p).reshape(n * p)
    levels = fpn_levels(extractor, flat)
    cls_score, bbox_pred = head(pooled_features(extractor, feats, flat, images, levels))
    num_classes = head.num_classes
    scores = cls_score.softmax(-1)[:, :num_classes].reshape(n, p, num_classes)
    scores = scores * valid[..., None].to(scores.dtype)
    boxes = decode(head.bbox_coder, rois.reshape(n * p, 4), bbox_pred, input_shape)
    boxes = boxes.reshape(n, p * num_classes, 4)
    labels = torch.arange(num_classes, device=rois.device).repeat(p)[None].expand(n, -1)
    scores = scores.reshape(n, p * num_classes)
    scores = torch.where(scores > cfg.score_thr, scores, torch.zeros_like(scores))
    dets, labels, _ = batched_nms(boxes, scores, labels,
                                  nms_iou_threshold(cfg.get('nms'), RCNN_NMS),
                                  int(cfg.max_per_img), num_classes=num_classes,
                                  split_thr=nms_split_thr(cfg.get('nms')))
    return dets, labels


def class_masks(mask_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(V, S, S) probabilities of each detection's own class channel from
    (V, classes, S, S) logits and (V,) labels (class-agnostic heads: their
    one channel)."""
    channel = labels if mask_logits.shape[1] > 1 else torch.zeros_like(labels)
    picked = torch.gather(mask_logits, 1, channel[:, None, None, None].expand(
        -1, 1, mask_logits.shape[2], mask_logits.shape[3]))
    return picked[:, 0].sigmoid()


def scattered_masks(mask_logits: torch.Tensor, classes: torch.Tensor, rows: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
    """(N, K, S, S): the class masks (``class_masks``) of the real detections,
    whose mask-head logits are ``mask_logits`` and rows ``rows``, each at its
    row of ``labels`` (N, K); zeros in the other rows."""
    n, k = labels.shape
    masks = scatter_rows(class_masks(mask_logits, classes), rows, labels.reshape(n * k))
    return masks.reshape(n, k, masks.shape[1], masks.shape[2])


def detection_masks(roi_head: nn.Module, feats, dets: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
    """(N, K, S, S) ``masks`` of mmdet's ``StandardRoIHead.predict_mask``:
    the mask head on the real detections only, zeros in the other rows."""
    extractor = roi_head.mask_roi_extractor
    rows, boxes, images, classes = detection_rows(labels, dets[..., :4])
    levels = fpn_levels(extractor, boxes)
    logits = roi_head.mask_head(pooled_features(extractor, feats, boxes, images, levels))
    return scattered_masks(logits, classes, rows, labels)


class TwoStageExport(nn.Module):
    """``input`` (N, 3, H, W) -> ``dets``, ``labels`` (and ``masks``) for an
    mmdet ``TwoStageDetector`` with ``RPNHead`` and ``StandardRoIHead``."""

    min_opset = ROI_ALIGN_MIN_OPSET

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        from mmdet.models.dense_heads import RPNHead
        from mmdet.models.roi_heads import StandardRoIHead

        from mmattn.utils.errors import UsageError
        rpn, roi = detector.rpn_head, detector.roi_head
        if type(rpn) is not RPNHead or not isinstance(roi, StandardRoIHead) \
                or roi.with_shared_head or not roi.with_bbox:
            raise UsageError(f'{type(detector).__name__} with {type(rpn).__name__} and '
                             f'{type(roi).__name__} cannot be exported; supported two-stage '
                             'detectors: RPNHead + StandardRoIHead with a box head (Faster '
                             'R-CNN, Mask R-CNN)')
        dense_head_config(rpn)  # refuse what cannot be exported, now
        nms_iou_threshold(roi.test_cfg.get('nms'), RCNN_NMS)
        self.detector = detector
        self.with_mask = roi.with_mask
        self.output_names = ('dets', 'labels', 'masks') if self.with_mask else ('dets', 'labels')

    def forward(self, input: torch.Tensor):
        shape = input.shape[-2:]
        feats = self.detector.extract_feat(input)
        rois, valid = proposals(self.detector.rpn_head, feats, shape)
        roi_head = self.detector.roi_head
        dets, labels = box_detections(roi_head, feats, rois, valid, shape)
        if not self.with_mask:
            return dets, labels
        return dets, labels, detection_masks(roi_head, feats, dets, labels)
