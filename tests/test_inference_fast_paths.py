"""Inference fast paths: conv-BN folding (test.py / benchmark.py
--fuse-conv-bn) keeps the backbones' outputs within 1e-5."""
import sys

import pytest
import torch

from mmattn.analysis.backbone_specs import build_backbone
from mmattn.analysis.backbone_timing import compare, fuse_batch_norms
from mmattn.analysis.latency import time_interleaved
from mmattn.engine.hooks.fuse_conv_bn_hook import count_batch_norms
from _helpers import randomise_bn


@pytest.mark.parametrize('preset', ['resnet50', 'epsanet50', 'vovnet39'])
def test_folded_batch_norms_give_the_same_features(preset):
    torch.manual_seed(0)
    model = build_backbone(preset)
    randomise_bn(model)
    model.eval()
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        expected = [t.clone() for t in model(x)]
        before = count_batch_norms(model)
        fuse_batch_norms(model)
        after = count_batch_norms(model)
        got = model(x)
    assert after < before  # something was folded
    if preset == 'epsanet50':
        assert after == 16  # the BN after each PSA (not a Conv2d) stays
    for g, e in zip(got, expected):
        scale = e.abs().max()
        assert float((g - e).abs().max() / scale) < 1e-5


@pytest.mark.slow
def test_benchmark_reports_medians_and_the_spread_of_per_round_ratios():
    rows = compare(['vovnet19'], 'resnet50', 1, (64, 64), 'cpu', warmup=0, runs=3, iters=1,
                   fuse_conv_bn=True)
    assert [r['name'] for r in rows] == ['resnet50', 'vovnet19']
    assert rows[0]['infer_ratio'] == rows[0]['train_ratio'] == 1.0
    for row in rows:
        for key in ('infer', 'train'):
            low, high = row[f'{key}_ratio_range']
            assert low <= row[f'{key}_ratio'] <= high
    from mmattn.analysis.machine import machine_line
    assert 'torch CPU capability' in machine_line()


class _RecordingNet(torch.nn.Module):
    """Conv + BN that logs every forward: (phase, whether its BN is still there)."""
    calls = []

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)

    def forward(self, x):
        phase = 'train' if self.training and torch.is_grad_enabled() else 'infer'
        self.calls.append((phase, isinstance(self.bn, torch.nn.BatchNorm2d)))
        return (self.bn(self.conv(x)),)


def make_recording_net():
    return _RecordingNet()


@pytest.mark.parametrize('inference_first', [True, False])
def test_benchmark_phase_order_and_fused_copies(inference_first):
    """Inference is timed first by default (a fresh process's allocator, as in
    tools/test.py), after training on request; conv-BN folding works on copies,
    so the training phase, before or after, still times the unfused model."""
    _RecordingNet.calls.clear()
    spec = f'{__name__}:make_recording_net'
    compare([spec], spec, 1, (8, 8), 'cpu', warmup=1, runs=2, iters=1, fuse_conv_bn=True,
            inference_first=inference_first)
    phases = [phase for phase, _ in _RecordingNet.calls]
    first, second = ('infer', 'train') if inference_first else ('train', 'infer')
    # 2 models x (1 warm-up + 2 rounds) calls per phase, one phase after the other.
    assert phases == [first] * 6 + [second] * 6
    assert all(has_bn == (phase == 'train') for phase, has_bn in _RecordingNet.calls)


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='counts page faults through getrusage')
def test_benchmark_counts_page_faults_per_iteration():
    """A step that touches every page of a fresh 64 MB anonymous mapping
    faults at least once per 2 MB (huge) page; a step that allocates nothing
    does not."""
    import mmap

    import numpy as np

    def fresh_pages():
        with mmap.mmap(-1, 64 * 2**20) as pages:
            view = np.frombuffer(pages, dtype=np.uint8)
            view[::4096] = 1
            del view

    def nothing():
        pass

    faults = []
    time_interleaved([fresh_pages, nothing], torch.device('cpu'),
                     1, 3, 2, page_faults=faults)
    assert [len(f) for f in faults] == [3, 3]
    assert min(faults[0]) >= 64 * 2**20 / (2 * 2**20) > max(faults[1])
