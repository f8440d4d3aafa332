"""The test settings an export and a serving benchmark may override: the
final detections' score threshold and number per image (every stage that
makes final detections; not the RPN's proposals)."""
from typing import List, Optional

import torch.nn as nn

from mmattn.utils.errors import UsageError


def final_test_cfgs(model: nn.Module) -> List[dict]:
    """The test configs the post-processing reads: the bbox head's (single
    stage, CenterMask) and the RoI head's (R-CNN), not the RPN's."""
    found = []
    for name in ('bbox_head', 'roi_head'):
        head = getattr(model, name, None)
        cfg = getattr(head, 'test_cfg', None) if head is not None else None
        if cfg is not None:
            found.append(cfg)
    return found


def check_score_thr(score_thr: Optional[float]) -> None:
    """UsageError unless ``score_thr`` is None or in [0, 1)."""
    if score_thr is not None and not 0 <= score_thr < 1:
        raise UsageError(f'--score-thr {score_thr} is invalid; expected 0 <= S < 1')


def override_detection_limits(model: nn.Module, score_thr: Optional[float] = None,
                              max_per_img: Optional[int] = None) -> None:
    """Set ``score_thr`` and ``max_per_img`` (those not None) in place in every
    final test config of ``model`` that has them. ``score_thr 0`` sends
    ``max_per_img`` detections through the mask heads of any model, trained
    or not (for timing)."""
    check_score_thr(score_thr)
    for cfg in final_test_cfgs(model):
        if score_thr is not None and 'score_thr' in cfg:
            cfg['score_thr'] = score_thr
        if max_per_img is not None and 'max_per_img' in cfg:
            cfg['max_per_img'] = max_per_img
