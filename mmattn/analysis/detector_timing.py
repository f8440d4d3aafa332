"""Whole detectors' training iterations side by side (data preprocessing,
losses, backward) on a fixed synthetic batch, taking turns in every round."""
import statistics
from typing import List, Sequence

import torch
import torch.nn as nn

from .latency import time_interleaved


def build_detector(config_path: str) -> nn.Module:
    from mmattn.models.builder import build_model_from_config
    from mmattn.utils.config import load_config
    return build_model_from_config(load_config(config_path), pretrained=False)


def detector_train_step(model: nn.Module, batch: int, shape: Sequence[int], seed=0):
    """A callable running one full training iteration (data preprocessing,
    losses, backward) on a fixed synthetic batch with boxes and masks."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    has_mask = hasattr(model, 'roi_head') and getattr(model.roi_head, 'with_mask', False)
    head = model.roi_head.bbox_head if hasattr(model, 'roi_head') else model.bbox_head
    packed = demo_mm_inputs(batch_size=batch, image_shapes=[(3, *shape)] * batch,
                            num_items=[8] * batch, num_classes=head.num_classes,
                            with_mask=has_mask)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]

    def step():
        torch.manual_seed(seed)  # same RoI sampling in every run and model
        for p in params:
            p.grad = None
        data = model.data_preprocessor(packed, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        loss.backward()
    return step


def compare_detectors(models: List[nn.Module], batch: int, shape: Sequence[int],
                      warmup=1, runs=3, iters=2) -> List[float]:
    """Median seconds of one training iteration of each detector, interleaved."""
    steps = [detector_train_step(m, batch, shape) for m in models]
    return [statistics.median(t) for t in time_interleaved(steps, torch.device('cpu'), warmup,
                                                           runs,
                                                           iters)]
