"""The FCOS head of CenterMask (Lee & Park, CVPR 2020; FCOS with the
"improvements" of its repository), as in ``youngwanLEE/centermask2:
centermask/modeling/fcos/``."""
import torch
from mmdet.models.dense_heads import FCOSHead

from mmattn.registry import register


@register()
class CenterMaskFCOSHead(FCOSHead):
    """mmdet's ``FCOSHead``, whose switches give CenterMask's FCOS (GN heads
    with bias, centerness on the regression branch, center sampling 1.5,
    GIoU, regression normalised by stride with ReLU, focal loss 0.25/2: set in
    the configs), with the official detection score
    ``sqrt(sigmoid(cls) * sigmoid(centerness))`` instead of mmdet's product.
    The square root does not change a class's ranking (box AP), but the mask
    score multiplies it by the predicted mask IoU, where it does.

    Deviation: before NMS, mmdet keeps each level's ``nms_pre`` best
    (location, class) pairs by classification score, the official code by
    the product with centerness; they differ only on levels with more than
    ``nms_pre`` candidates above ``score_thr``.
    """

    def _bbox_post_process(self, results, cfg, rescale: bool = False, with_nms: bool = True,
                           img_meta=None):
        if hasattr(results, 'score_factors'):
            results.scores = torch.sqrt(results.scores * results.pop('score_factors'))
        return super()._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                          img_meta=img_meta)
