"""The two operations a detector's post-processing needs that have no plain
tensor form, exported as the standard ONNX operators (default domain), so
that onnxruntime, TensorRT and OpenVINO run the files without a plugin:

* ``non_max_suppression``: ONNX ``NonMaxSuppression`` (opset 10+);
* ``roi_align``: ONNX ``RoiAlign`` (opset 16+, ``coordinate_transformation_mode``
  ``'half_pixel'``, which is mmcv's ``aligned=True``; ``output_half_pixel`` is
  ``aligned=False``).

In PyTorch (and while the exporter traces) they run mmcv's ``nms`` and
``roi_align``, the operators mmdet's own post-processing uses, with the ONNX
operators' input and output conventions.
"""
import torch
from torch.autograd import Function

NMS_MIN_OPSET = 11  # NonMaxSuppression (10), TopK with a tensor k and ScatterND (11)
ROI_ALIGN_MIN_OPSET = 16  # RoiAlign's coordinate_transformation_mode


class _NonMaxSuppression(Function):

    @staticmethod
    def forward(ctx, boxes: torch.Tensor, scores: torch.Tensor, max_per_class: int,
                iou_threshold: float, score_threshold: float) -> torch.Tensor:
        from mmcv.ops import nms
        selected = []
        for b in range(scores.shape[0]):
            for c in range(scores.shape[1]):
                keep_scores = scores[b, c]
                valid = torch.nonzero(keep_scores > score_threshold).flatten()
                if valid.numel() == 0:
                    continue
                _, keep = nms(boxes[b, valid], keep_scores[valid], iou_threshold)
                keep = valid[keep[:max_per_class]]
                selected.append(torch.stack(
                    [torch.full_like(keep, b), torch.full_like(keep, c), keep], 1))
        if not selected:
            return torch.zeros(0, 3, dtype=torch.int64, device=boxes.device)
        return torch.cat(selected).to(torch.int64)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class: int, iou_threshold: float,
                 score_threshold: float):
        def const(value, dtype):
            return g.op('Constant', value_t=torch.tensor([value], dtype=dtype))
        return g.op('NonMaxSuppression', boxes, scores, const(max_per_class, torch.int64),
                    const(iou_threshold, torch.float32), const(score_threshold, torch.float32),
                    center_point_box_i=0)


def non_max_suppression(boxes: torch.Tensor, scores: torch.Tensor, max_per_class: int,
                        iou_threshold: float, score_threshold: float) -> torch.Tensor:
    """ONNX ``NonMaxSuppression``: ``boxes`` (N, B, 4) as x1, y1, x2, y2,
    ``scores`` (N, C, B); a box survives if its score is above
    ``score_threshold`` and no higher-scoring box of its class overlaps it
    with IoU above ``iou_threshold``. Returns (K, 3) int64 rows of (batch,
    class, box index), each (batch, class) in descending score order, at most
    ``max_per_class`` per (batch, class)."""
    return _NonMaxSuppression.apply(boxes, scores, int(max_per_class), float(iou_threshold),
                                    float(score_threshold))


class _RoIAlign(Function):

    @staticmethod
    def forward(ctx, features: torch.Tensor, rois: torch.Tensor, batch_indices: torch.Tensor,
                output_size: int, spatial_scale: float, sampling_ratio: int,
                aligned: bool) -> torch.Tensor:
        from mmcv.ops import roi_align
        with_index = torch.cat([batch_indices[:, None].to(rois.dtype), rois], dim=1)
        return roi_align(features, with_index, (output_size, output_size), spatial_scale,
                         sampling_ratio, 'avg', aligned)

    @staticmethod
    def symbolic(g, features, rois, batch_indices, output_size: int, spatial_scale: float,
                 sampling_ratio: int, aligned: bool):
        mode = 'half_pixel' if aligned else 'output_half_pixel'
        return g.op('RoiAlign', features, rois, batch_indices,
                    coordinate_transformation_mode_s=mode, mode_s='avg',
                    output_height_i=output_size, output_width_i=output_size,
                    sampling_ratio_i=sampling_ratio, spatial_scale_f=spatial_scale)


def roi_align(features: torch.Tensor, rois: torch.Tensor, batch_indices: torch.Tensor,
              output_size: int, spatial_scale: float, sampling_ratio: int = 0,
              aligned: bool = True) -> torch.Tensor:
    """ONNX ``RoiAlign`` (average): ``rois`` (R, 4) as x1, y1, x2, y2 in input
    pixels, ``batch_indices`` (R,) int64; returns (R, C, output_size,
    output_size). ``sampling_ratio=0``: adaptive, as mmcv."""
    return _RoIAlign.apply(features, rois, batch_indices.to(torch.int64), int(output_size),
                           float(spatial_scale), int(sampling_ratio), bool(aligned))
