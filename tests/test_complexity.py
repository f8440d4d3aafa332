"""mmattn.analysis.complexity and tools/analysis_tools/get_flops.py: FLOPs of
mmdet's own backbones and of configs named inside an installed package."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmdet.models.backbones import ResNet

from mmattn.analysis.backbone_specs import build_backbone
from mmattn.analysis.complexity import complexity

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _conv_macs_and_norm_elements(model: nn.Module, x: torch.Tensor) -> int:
    """An independent count by forward hooks: a convolution's multiply-
    accumulates (output elements x input channels per group x kernel area)
    plus, for an inference BN, two per element with an affine transform (one
    without), mmengine's rule for batch_norm."""
    total = [0]

    def conv_hook(m, inputs, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def norm_hook(m, inputs, out):
        total[0] += out.numel() * (2 if m.affine else 1)

    handles = [m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else norm_hook)
               for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.modules.batchnorm._BatchNorm))]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total[0]


def test_complexity_of_mmdet_resnet():
    """mmdet's ``ResNet.train()`` returns None: complexity() must not chain
    ``.eval()`` (it failed with AttributeError on every mmdet ResNet)."""
    model = ResNet(depth=18)
    result = complexity(model, (3, 64, 96))
    assert result['params'] == sum(p.numel() for p in model.parameters())
    assert result['flops'] == _conv_macs_and_norm_elements(model, torch.randn(1, 3, 64, 96))


@pytest.mark.slow
def test_get_flops_reads_a_package_config():
    """``mmdet::...`` names mmdet's own config, as in ``_base_``; the tool's
    figure equals the count of the same backbone built in this process."""
    out = subprocess.run(
        [sys.executable, 'tools/analysis_tools/get_flops.py',
         'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '--backbone-only',
         '--shape', '64', '64'],
        cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO))
    assert out.returncode == 0, out.stderr[-2000:]
    expected = complexity(build_backbone('resnet50'), (3, 64, 64))
    assert (f'backbone of mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py, input 64x64: '
            f'params {expected["params"] / 1e6:.2f} M, FLOPs {expected["flops"] / 1e9:.2f} G'
            in out.stdout), out.stdout
