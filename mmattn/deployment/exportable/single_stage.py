"""One-stage detectors (FCOS, RetinaNet and other mmdet dense heads with
sigmoid or softmax scores, optional centerness-like score factors) as one
graph: image batch in, ``dets`` and ``labels`` out.

Follows mmdet's ``BaseDenseHead.predict_by_feat``: per level, the ``nms_pre``
best (location, class) pairs above ``score_thr``; boxes decoded by the head's
own coder and clipped to the input; scores times the score factors
(CenterMask's head: their geometric mean); boxes with a side not above
``min_bbox_size`` dropped; class-aware NMS; the ``max_per_img`` best.
Deviation: boxes are clipped to the (padded) input, not each image's
``img_shape``, and NMS runs before, not after, the rescaling to the original
image (``OnnxDetector`` clips and rescales the outputs; IoU is unchanged by a
uniform scale).
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..box_coders import decode
from ..onnx_ops import NMS_MIN_OPSET
from ..postprocess import NMS_SPLIT_THR, batched_nms, gather_rows, top_candidates


def nms_iou_threshold(nms: Optional[dict], where: str) -> float:
    """The IoU threshold of an mmdet ``nms`` config (``where`` names it);
    UsageError for an NMS other than plain ``'nms'``."""
    from mmattn.utils.errors import UsageError
    nms = nms or {}
    if nms.get('type', 'nms') != 'nms':
        raise UsageError(f'{where}.type={nms.get("type")!r} cannot be exported; supported: '
                         "'nms' (ONNX NonMaxSuppression)")
    return float(nms.get('iou_threshold', 0.5))


def nms_split_thr(nms: Optional[dict]) -> int:
    """From how many boxes on mmcv's ``batched_nms`` (with this ``nms``
    config) runs NMS class by class."""
    return int((nms or {}).get('split_thr', NMS_SPLIT_THR))


def dense_head_config(head: nn.Module) -> dict:
    """The post-processing settings of a dense head's ``test_cfg``, checked."""
    cfg = head.test_cfg
    return dict(nms_pre=int(cfg.get('nms_pre', 1000)), score_thr=float(cfg.get('score_thr', 0)),
                iou=nms_iou_threshold(cfg.get('nms'), f'{type(head).__name__}: test_cfg.nms'),
                max_per_img=int(cfg.get('max_per_img', 100)),
                min_bbox_size=float(cfg.get('min_bbox_size', -1)),
                split_thr=nms_split_thr(cfg.get('nms')))


def level_scores(head: nn.Module, cls_score: torch.Tensor) -> torch.Tensor:
    """(N, H*W*A, C) class probabilities of one level, as the head computes them."""
    n = cls_score.shape[0]
    logits = cls_score.permute(0, 2, 3, 1).reshape(n, -1, head.cls_out_channels)
    if head.use_sigmoid_cls:
        return logits.sigmoid()
    return logits.softmax(-1)[..., :-1]


def flat_level(x: torch.Tensor, width: int) -> torch.Tensor:
    """(N, A*width, H, W) -> (N, H*W*A, width), mmdet's per-image layout."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, width)


def decode_boxes(head: nn.Module, priors: torch.Tensor, preds: torch.Tensor,
                 max_shape: Tuple) -> torch.Tensor:
    """The head's coder on (N, K, .) priors and predictions, as one flat batch."""
    n, k = preds.shape[:2]
    boxes = decode(head.bbox_coder, priors.reshape(n * k, -1), preds.reshape(n * k, -1),
                   max_shape)
    return boxes.reshape(n, k, 4)


def drop_small_boxes(boxes: torch.Tensor, scores: torch.Tensor,
                     min_bbox_size: float) -> torch.Tensor:
    """``scores`` (N, K) with those of boxes (N, K, 4) whose width or height is
    not above ``min_bbox_size`` set to 0 (none when it is negative)."""
    if min_bbox_size < 0:
        return scores
    wh = boxes[..., 2:] - boxes[..., :2]
    large = (wh[..., 0] > min_bbox_size) & (wh[..., 1] > min_bbox_size)
    return scores * large.to(scores.dtype)


def dense_detections(head: nn.Module, outs: Sequence, input_shape: Tuple,
                     combine=None) -> Dict[str, torch.Tensor]:
    """``dets`` (N, K, 5) and ``labels`` (N, K) from a dense head's raw
    outputs ``outs`` (cls_scores, bbox_preds[, score_factors]) per level.
    ``combine(scores, factors)`` merges scores and score factors (default:
    their product, mmdet's)."""
    cfg = dense_head_config(head)
    cls_scores, bbox_preds = outs[0], outs[1]
    factors = outs[2] if len(outs) > 2 else [None] * len(cls_scores)
    sizes = [c.shape[-2:] for c in cls_scores]
    priors = head.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype,
                                              device=cls_scores[0].device)
    n = cls_scores[0].shape[0]
    encode = head.bbox_coder.encode_size
    mlvl = dict(scores=[], labels=[], priors=[], preds=[], factors=[])
    for cls_score, bbox_pred, factor, prior in zip(cls_scores, bbox_preds, factors, priors):
        scores, where, labels = top_candidates(level_scores(head, cls_score),
                                               cfg['score_thr'], cfg['nms_pre'])
        prior = prior[None].expand(n, -1, -1)
        mlvl['scores'].append(scores)
        mlvl['labels'].append(labels)
        mlvl['priors'].append(gather_rows(prior, where))
        mlvl['preds'].append(gather_rows(flat_level(bbox_pred, encode), where))
        if factor is not None:
            mlvl['factors'].append(gather_rows(flat_level(factor, 1)[..., 0].sigmoid(), where))
    scores = torch.cat(mlvl['scores'], 1)
    boxes = decode_boxes(head, torch.cat(mlvl['priors'], 1), torch.cat(mlvl['preds'], 1),
                         input_shape)
    if mlvl['factors']:
        factors = torch.cat(mlvl['factors'], 1)
        scores = combine(scores, factors) if combine else scores * factors
    scores = drop_small_boxes(boxes, scores, cfg['min_bbox_size'])
    dets, labels, _ = batched_nms(boxes, scores, torch.cat(mlvl['labels'], 1), cfg['iou'],
                                  cfg['max_per_img'], num_classes=head.num_classes,
                                  split_thr=cfg['split_thr'])
    return dict(dets=dets, labels=labels)


class SingleStageExport(nn.Module):
    """``input`` (N, 3, H, W) -> ``dets``, ``labels`` for an mmdet
    ``SingleStageDetector``."""

    output_names = ('dets', 'labels')
    min_opset = NMS_MIN_OPSET

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector
        dense_head_config(detector.bbox_head)  # refuse what cannot be exported, now

    def forward(self, input: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        feats = self.detector.extract_feat(input)
        outs = self.detector.bbox_head(feats)
        result = dense_detections(self.detector.bbox_head, outs, input.shape[-2:])
        return result['dets'], result['labels']
