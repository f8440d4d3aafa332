"""Detection post-processing written for export: batched, fixed output sizes,
standard ONNX operators only (``onnx_ops``), following mmdet's own steps.

mmdet post-processes one image at a time with data-dependent sizes; here every
step keeps a fixed number of rows per image and marks the unused ones, so a
batch runs as one graph:

* ``top_candidates``: mmdet's ``filter_scores_and_topk`` (pairs of location
  and class above the score threshold, the ``k`` best), with rows below the
  threshold (or padding) given score 0;
* ``batched_nms``: mmcv's ``batched_nms`` (class-aware through a coordinate
  offset per class, or class by class from ``split_thr`` boxes on) followed
  by keeping the ``max_num`` best, mmdet's ``max_per_img``; rows that are not
  kept have score 0 and label -1.
"""
from typing import Optional, Tuple

import torch

from .onnx_ops import non_max_suppression

NMS_SPLIT_THR = 10000  # mmcv's batched_nms: from this many boxes on, NMS class by class


def gather_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[b, index[b]]`` for every image b: ``x`` (N, M, ...), ``index`` (N, K)."""
    shape = index.shape + x.shape[2:]
    expanded = index.reshape(index.shape + (1,) * (x.dim() - 2)).expand(shape)
    return torch.gather(x, 1, expanded)


def _pad_columns(x: torch.Tensor, count: int, value: float = 0.0) -> torch.Tensor:
    """``x`` (N, M, ...) with ``count`` more rows of ``value`` (so that TopK of
    up to ``count`` rows is valid for any M)."""
    pad = x.new_full((x.shape[0], count) + tuple(x.shape[2:]), value)
    return torch.cat([x, pad], dim=1)


def top_candidates(scores: torch.Tensor, score_thr: float, k: int
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``k`` best (location, class) pairs of ``scores`` (N, M, C) above
    ``score_thr``: (scores (N, k), locations (N, k), labels (N, k)); pairs at
    or below the threshold, and padding, have score 0."""
    num_classes = scores.shape[2]
    flat = scores.reshape(scores.shape[0], -1)
    flat = torch.where(flat > score_thr, flat, torch.zeros_like(flat))
    top, index = torch.topk(_pad_columns(flat, k), k, dim=1)
    index = torch.where(top > 0, index, torch.zeros_like(index))  # padding: row 0, score 0
    return top, torch.div(index, num_classes, rounding_mode='floor'), index % num_classes


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
                iou_threshold: float, max_num: int, class_agnostic: bool = False,
                num_classes: Optional[int] = None, split_thr: int = NMS_SPLIT_THR
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Class-aware NMS of ``boxes`` (N, M, 4) with ``scores`` (N, M) (rows of
    score 0 take no part) and ``labels`` (N, M) in ``range(num_classes)``,
    then the ``max_num`` best survivors by score. Returns (dets (N, max_num,
    5): x1, y1, x2, y2, score; labels (N, max_num), -1 where empty; the kept
    rows' index into M).

    As mmcv's ``batched_nms``: below ``split_thr`` boxes one NMS with each
    class's boxes moved apart; from ``split_thr`` on (given ``num_classes``)
    one NMS per class (ONNX ``NonMaxSuppression``'s class axis), whose cost
    grows with the boxes of a class, not of all (R-CNN's 1000 RoIs x 80
    classes). Deviation: M, the rows the graph holds, decides, not how many
    are above the score threshold."""
    num_boxes = boxes.shape[1]
    nms_boxes, nms_scores = boxes, scores[:, None, :]
    if not class_agnostic and num_classes is not None and num_boxes >= split_thr:
        classes = torch.arange(num_classes, device=labels.device)
        nms_scores = nms_scores * (labels[:, None, :] == classes[None, :, None]).to(scores.dtype)
    elif not class_agnostic:  # each class moved beyond the largest coordinate
        offset = boxes.reshape(boxes.shape[0], -1).amax(dim=1) + 1
        nms_boxes = boxes + (labels.to(boxes.dtype) * offset[:, None])[..., None]
    selected = non_max_suppression(nms_boxes, nms_scores, num_boxes, iou_threshold, 0.0)
    batch, index = selected[:, 0], selected[:, 2]
    kept = torch.zeros_like(scores)
    kept[batch, index] = scores[batch, index]
    top, rows = torch.topk(_pad_columns(kept, max_num), max_num, dim=1)
    valid = top > 0
    rows = torch.where(valid, rows, torch.zeros_like(rows))
    dets = torch.cat([gather_rows(boxes, rows), top[..., None]], dim=2)
    dets = dets * valid[..., None].to(dets.dtype)
    out_labels = torch.where(valid, gather_rows(labels, rows), torch.full_like(rows, -1))
    return dets, out_labels, rows
