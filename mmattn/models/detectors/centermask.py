"""CenterMask (Lee & Park, "CenterMask: Real-Time Anchor-Free Instance
Segmentation", CVPR 2020): an FCOS detector whose boxes a SAG-Mask head and
a MaskIoU head segment and rescore, as ``youngwanLEE/centermask2``."""
from typing import Optional, Tuple

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.structures import InstanceData

from mmattn.registry import register


def _part(cfg: Optional[dict], key: str) -> Optional[dict]:
    return None if cfg is None else cfg.get(key)


@register()
class CenterMask(BaseDetector):
    """``backbone`` -> ``neck`` (P3-P7) -> ``bbox_head`` (FCOS, all classes:
    the boxes, labels and box scores) -> ``roi_head`` (masks and mask scores
    for those boxes on P3-P5).

    mmdet's ``TwoStageDetector`` cannot express it: its RPN is class-agnostic
    and its RoI head asserts a box head; here classes and boxes come from the
    dense head and the RoI stage has no box head.

    ``train_cfg``: ``bbox`` (the FCOS head's), ``proposal`` (post-processing
    of FCOS's boxes into mask proposals during training: official top 100 per
    image after NMS) and ``mask`` (assigner, sampler, ``mask_size``);
    ``test_cfg``: ``bbox`` (official top 50 after NMS) and ``mask``.
    """

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict, roi_head: dict,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        bbox_head = dict(bbox_head, train_cfg=_part(train_cfg, 'bbox'),
                         test_cfg=_part(test_cfg, 'bbox'))
        roi_head = dict(roi_head, train_cfg=_part(train_cfg, 'mask'),
                        test_cfg=_part(test_cfg, 'mask'))
        self.bbox_head = MODELS.build(bbox_head)
        self.roi_head = MODELS.build(roi_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if train_cfg is not None and train_cfg.get('proposal') is None:
            raise ValueError('CenterMask: train_cfg needs a "proposal" entry (how FCOS\'s boxes '
                             'become mask proposals: nms_pre, score_thr, nms, max_per_img)')

    def extract_feat(self, batch_inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.neck(self.backbone(batch_inputs))

    def loss(self, batch_inputs: torch.Tensor, batch_data_samples: SampleList) -> dict:
        x = self.extract_feat(batch_inputs)
        losses, proposals = self.bbox_head.loss_and_predict(
            x, batch_data_samples, proposal_cfg=self.train_cfg['proposal'])
        losses.update(self.roi_head.loss(x, [p.detach() for p in proposals], batch_data_samples))
        return losses

    def predict(self, batch_inputs: torch.Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        x = self.extract_feat(batch_inputs)
        results = self.bbox_head.predict(x, batch_data_samples, rescale=False)
        results = self.roi_head.predict(x, results, batch_data_samples, rescale=rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs: torch.Tensor,
                 batch_data_samples: Optional[SampleList] = None) -> tuple:
        """The FCOS head's outputs, then the mask logits (and MaskIoU
        predictions) for its post-processed detections."""
        x = self.extract_feat(batch_inputs)
        outs = self.bbox_head(x)
        if batch_data_samples:
            metas = [s.metainfo for s in batch_data_samples]
        else:
            shape = tuple(batch_inputs.shape[-2:])
            metas = [dict(img_shape=shape, pad_shape=shape, scale_factor=(1., 1.))
                     for _ in range(batch_inputs.shape[0])]
        results = self.bbox_head.predict_by_feat(*outs, batch_img_metas=metas, rescale=False)
        results = [InstanceData(bboxes=r.bboxes, labels=r.labels) for r in results]
        return tuple(outs) + tuple(self.roi_head(x, results, batch_data_samples))
