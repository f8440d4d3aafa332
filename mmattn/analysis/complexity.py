"""Parameters and FLOPs of detectors, backbones and attention blocks, through
mmengine's ``get_model_complexity_info`` (fvcore counting: one FLOP is one
multiply-accumulate)."""
import copy
from typing import Dict, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info

from mmattn.utils.compat import rename_children


class _DetectorTensorForward(nn.Module):
    """Runs a detector in mmdet's ``mode='tensor'`` (backbone, neck, heads; no
    post-processing) on a single image, as mmdet's own get_flops does."""

    def __init__(self, detector: nn.Module, shape: Tuple[int, int]) -> None:
        super().__init__()
        from mmdet.structures import DetDataSample
        self.detector = detector
        h, w = shape
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                             batch_input_shape=(h, w), scale_factor=(1.0, 1.0)))
        self.samples = [sample]

    def forward(self, x: torch.Tensor):
        return self.detector(x, self.samples, mode='tensor')


def _without_slashes(model: nn.Module) -> nn.Module:
    """A copy whose submodule names have no '/': mmengine's analyzer splits
    trace scopes on '/', which VoVNet's official names (``stem_1/conv``) contain."""
    model = copy.deepcopy(model)
    for module in model.modules():
        rename_children(module, lambda name: name.replace('/', '__'))
    return model


def complexity(model: nn.Module, input_shape: Tuple[int, ...],
               detector: bool = False) -> Dict[str, float]:
    """``{'params': N, 'flops': N}`` of ``model`` on one input of ``input_shape``
    (C, H, W); for detectors, the whole tensor forward."""
    model = _without_slashes(model)
    model.eval()  # not chained: mmdet's ResNet.train returns None
    inputs = torch.randn(1, *input_shape)
    if detector:
        model = _DetectorTensorForward(model, input_shape[1:])
    with torch.no_grad():
        info = get_model_complexity_info(model, inputs=(
            inputs,), show_table=False, show_arch=False)
    return dict(params=float(info['params']), flops=float(info['flops']))
