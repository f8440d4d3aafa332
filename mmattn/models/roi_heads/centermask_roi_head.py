"""The RoI stage of CenterMask (Lee & Park, CVPR 2020): masks and mask
scores for the boxes of an FCOS head; no box head. As ``CenterROIHeads`` in
``youngwanLEE/centermask2: centermask/modeling/centermask/center_heads.py``."""
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from mmengine.model import BaseModule

from mmattn.registry import register
from .mask_heads.centermask_iou_head import rescore_masks


@register()
class CenterMaskRoIHead(BaseModule):
    """Mask head (SAG-Mask) and MaskIoU head on the RoIs of a dense detector.

    Training: the dense head's post-NMS boxes plus the ground-truth boxes are
    matched to the ground truth (``train_cfg.assigner``, IoU 0.5) and
    sampled (``train_cfg.sampler``: 512 at 25 % positives, ground truth
    added); only the positives train the mask and MaskIoU heads.

    Prediction: masks for the dense head's detections; with a MaskIoU head
    each detection also gets ``mask_scores = scores * predicted IoU`` (the
    mask's score for COCO's segm AP; ``scores`` stay the box scores, which
    mmdet's ``CocoMetric`` uses for bbox AP). mmdet's Mask Scoring R-CNN
    rescales both; CenterMask only the masks'.

    ``mask_roi_extractor`` receives each image's ``img_shape``
    (``AreaRatioRoIExtractor``'s adaptive level assignment needs it).
    """

    def __init__(self, mask_roi_extractor: dict, mask_head: dict,
                 mask_iou_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.mask_roi_extractor = MODELS.build(mask_roi_extractor)
        self.mask_head = MODELS.build(mask_head)
        self.mask_iou_head = MODELS.build(mask_iou_head) if mask_iou_head else None
        if train_cfg is not None:
            self.bbox_assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.bbox_sampler = TASK_UTILS.build(
                train_cfg['sampler'], default_args=dict(context=self))

    @property
    def with_mask_iou(self) -> bool:
        return self.mask_iou_head is not None

    def _mask_forward(self, x: Tuple[torch.Tensor], rois: torch.Tensor,
                      img_shapes: List[Tuple[int, int]]) -> Dict[str, torch.Tensor]:
        feats = self.mask_roi_extractor(x[:self.mask_roi_extractor.num_inputs], rois, img_shapes)
        return dict(mask_feats=feats, mask_preds=self.mask_head(feats))

    def _mask_iou_forward(self, out: Dict[str, torch.Tensor],
                          labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Each RoI's mask logits of its class and the MaskIoU head's
        predictions (all classes) from them."""
        index = torch.arange(labels.numel(), device=labels.device)
        class_logits = out['mask_preds'][index, labels]
        return class_logits, self.mask_iou_head(out['mask_feats'], class_logits)

    def forward(self, x: Tuple[torch.Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList = None) -> tuple:
        """Mask logits (and MaskIoU predictions) for the given boxes
        (``mode='tensor'``)."""
        rois = bbox2roi([r.bboxes for r in rpn_results_list])
        if batch_data_samples:
            shapes = [s.metainfo['img_shape'] for s in batch_data_samples]
        else:  # no metainfo: the padded input's size
            stride = self.mask_roi_extractor.featmap_strides[0]
            shapes = [(x[0].shape[-2] * stride, x[0].shape[-1] * stride)] * len(rpn_results_list)
        out = self._mask_forward(x, rois, shapes)
        if not self.with_mask_iou:
            return (out['mask_preds'],)
        labels = torch.cat([r.labels for r in rpn_results_list])
        return out['mask_preds'], self._mask_iou_forward(out, labels)[1]

    def loss(self, x: Tuple[torch.Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        gt_instances, gt_ignore, img_metas = unpack_gt_instances(batch_data_samples)
        sampling_results = []
        for i, proposals in enumerate(rpn_results_list):
            proposals = proposals.detach()
            proposals.priors = proposals.pop('bboxes')
            assign = self.bbox_assigner.assign(proposals, gt_instances[i], gt_ignore[i])
            sampling_results.append(self.bbox_sampler.sample(
                assign, proposals, gt_instances[i], feats=[lvl[i][None] for lvl in x]))
        pos_rois = bbox2roi([res.pos_priors for res in sampling_results])
        out = self._mask_forward(x, pos_rois, [m['img_shape'] for m in img_metas])
        mask_loss = self.mask_head.loss_and_target(
            mask_preds=out['mask_preds'], sampling_results=sampling_results,
            batch_gt_instances=gt_instances, rcnn_train_cfg=self.train_cfg)
        losses = dict(mask_loss['loss_mask'])
        if self.with_mask_iou:
            labels = torch.cat([res.pos_gt_labels for res in sampling_results])
            class_logits, iou_pred = self._mask_iou_forward(out, labels)
            iou_pred = iou_pred[torch.arange(labels.numel(), device=labels.device), labels]
            losses.update(self.mask_iou_head.loss_and_target(
                iou_pred, class_logits, mask_loss['mask_targets'], sampling_results,
                gt_instances, self.train_cfg))
        return losses

    def predict(self, x: Tuple[torch.Tensor], results_list: InstanceList,
                batch_data_samples: SampleList, rescale: bool = False) -> InstanceList:
        """Add ``masks`` (and ``mask_scores``) to the dense head's detections,
        given in the resized image's coordinates; with ``rescale`` boxes and
        masks are returned in the original image's."""
        img_metas = [s.metainfo for s in batch_data_samples]
        rois = bbox2roi([r.bboxes for r in results_list])
        if rois.shape[0] == 0:
            empty = [x[0].new_zeros(0, self.mask_head.num_classes, 1, 1) for _ in results_list]
            for r in results_list:
                r.mask_scores = r.scores.new_zeros(0)
            return self.mask_head.predict_by_feat(empty, results_list, img_metas,
                                                  self.test_cfg, rescale=rescale)
        out = self._mask_forward(x, rois, [m['img_shape'] for m in img_metas])
        counts = [len(r) for r in results_list]
        if self.with_mask_iou:
            labels = torch.cat([r.labels for r in results_list])
            _, iou_pred = self._mask_iou_forward(out, labels)
            scores = torch.cat([r.scores for r in results_list])
            for r, s in zip(results_list, rescore_masks(scores, labels, iou_pred).split(counts)):
                r.mask_scores = s
        mask_preds = out['mask_preds'].split(counts, 0)
        return self.mask_head.predict_by_feat(mask_preds, results_list, img_metas,
                                              self.test_cfg, rescale=rescale)
