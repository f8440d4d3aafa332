"""CenterMask and CenterMask-Lite (``mmattn.models.CenterMask``) as one
graph: ``input`` -> ``dets`` (box scores), ``labels``, ``masks`` and
``mask_scores`` (box score times the predicted mask IoU of the class).

As ``CenterMask.predict``: the FCOS head's detections (``single_stage``,
scores ``sqrt(cls * centerness)``), then on their boxes the SAG-Mask head
(RoIAlign on P3-P5 at CenterMask's area-ratio level) and the MaskIoU head,
run on the real detections only.
Deviation: the level assignment divides by the input's (padded) area, not
each image's ``img_shape`` area; they are equal when an image fills the input.
"""
import torch
import torch.nn as nn

from ..onnx_ops import ROI_ALIGN_MIN_OPSET
from .roi_features import detection_rows, pooled_features, scatter_rows
from .single_stage import dense_detections, dense_head_config
from .two_stage import scattered_masks


def _geometric_mean(scores: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(scores * factors)


def _one_more_row(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, x.new_zeros((1,) + tuple(x.shape[1:]))])


class CenterMaskExport(nn.Module):
    """``input`` (N, 3, H, W) -> ``dets``, ``labels``, ``masks``
    (, ``mask_scores`` with a MaskIoU head)."""

    min_opset = ROI_ALIGN_MIN_OPSET

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        dense_head_config(detector.bbox_head)  # refuse what cannot be exported, now
        self.detector = detector
        self.with_mask_iou = detector.roi_head.with_mask_iou
        self.output_names = ('dets', 'labels', 'masks') + \
            (('mask_scores',) if self.with_mask_iou else ())

    def forward(self, input: torch.Tensor):
        from mmattn.models.roi_heads.roi_extractors.area_ratio_roi_extractor import \
            levels_by_area_ratio
        detector, roi_head = self.detector, self.detector.roi_head
        feats = detector.extract_feat(input)
        found = dense_detections(detector.bbox_head, detector.bbox_head(feats), input.shape[-2:],
                                 combine=_geometric_mean)
        dets, labels = found['dets'], found['labels']
        n, k = labels.shape
        extractor = roi_head.mask_roi_extractor
        rows, boxes, images, classes = detection_rows(labels, dets[..., :4])
        area = (input.shape[-2] * input.shape[-1]) * torch.ones_like(boxes[:, 0])
        levels = levels_by_area_ratio(boxes, area, extractor.min_level, extractor.max_level)
        roi_feats = pooled_features(extractor, feats[:len(extractor.featmap_strides)], boxes,
                                    images, levels)
        logits = roi_head.mask_head(roi_feats)
        masks = scattered_masks(logits, classes, rows, labels)
        if not self.with_mask_iou:
            return dets, labels, masks
        every = torch.arange(classes.shape[0], device=logits.device)
        # OpenVINO's CPU MaxPool refuses an empty batch (an image without
        # detections): the MaskIoU head gets one more, all-zero row (rows are
        # independent), whose output is dropped
        picked = logits[every, classes]
        iou = roi_head.mask_iou_head(_one_more_row(roi_feats), _one_more_row(picked))
        iou = iou[:-1][every, classes]
        iou = scatter_rows(iou, rows, labels.reshape(n * k)).reshape(n, k)
        return dets, labels, masks, dets[..., 4] * iou
