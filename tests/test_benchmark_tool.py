"""The benchmark tool (mmattn/cli/benchmark.py) and its building blocks: spec overrides, the
exact peak-memory measurement, and the eager-vs-compiled comparison."""
import os.path as osp

import pytest
import torch

from mmattn.analysis.backbone_specs import (PRESETS, backbone_config, build_backbone, parse_spec,
                                            spec_name)
from mmattn.analysis.backbone_timing import compare_compiled
from mmattn.analysis.detector_timing import build_detector
from mmattn.analysis.memory import peak_train_memory_bytes, saved_activation_bytes

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL = dict(type='VoVNet', arch='V-19-slim-dw-eSE', norm_eval=False)


def test_preset_overrides():
    from mmattn.utils.errors import UsageError
    spec = parse_spec('vovnet39@channels_last=False,with_cp=True,arch=V-57-eSE')
    assert spec_name(spec) == 'vovnet39@channels_last=False,with_cp=True,arch=V-57-eSE'
    assert backbone_config(spec) == dict(type='VoVNet', arch='V-57-eSE', channels_last=False,
                                         with_cp=True, frozen_stages=-1, norm_eval=False)
    with pytest.raises(UsageError, match="expected KEY=VALUE after \"@\", got 'with_cp'"):
        parse_spec('vovnet39@with_cp')
    with pytest.raises(UsageError, match="'vovnet40' is neither a config file nor one of"):
        parse_spec('vovnet40@with_cp=True')


@pytest.mark.parametrize('preset', sorted(PRESETS))
def test_presets_train_alike(preset):
    """The ratios compare like with like: in a training step every preset's
    norms compute batch statistics and every parameter is trained (VoVNet's
    own default, norm_eval=True, would freeze its BN statistics)."""
    model = build_backbone(preset)
    model.train()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(m.training for m in norms)
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.slow
def test_peak_memory_covers_the_saved_activations_and_with_cp_lowers_both():
    """The peak of a training step (VmHWM growth, in a subprocess) must hold at
    least what autograd saves for backward (counted independently through
    saved-tensor hooks); with_cp lowers both."""
    shape = (256, 256)
    x = torch.randn(2, 3, *shape)
    peaks, saved = [], []
    for cp in (False, True):
        peaks.append(peak_train_memory_bytes(SMALL, 2, shape, 'cpu', dict(with_cp=cp)))
        saved.append(saved_activation_bytes(
            build_backbone(backbone_config(SMALL, with_cp=cp)), x))
    assert peaks[0] >= saved[0] > 0
    assert saved[1] < 0.5 * saved[0]
    assert peaks[1] < peaks[0]


@pytest.mark.slow
def test_peak_memory_of_mmdet_resnet_is_measurable():
    """mmdet's ``ResNet.train()`` returns None: the measurement must not chain it."""
    spec = dict(type='ResNet', depth=18, norm_eval=False)
    assert peak_train_memory_bytes(spec, 1, (64, 64), 'cpu') > 0


@pytest.mark.slow
def test_compare_compiled_reports_both_phases():
    rows = compare_compiled([SMALL], 2, (64, 64), 'cpu', warmup=1, runs=2, iters=1,
                            compile_kwargs=dict(backend='aot_eager'))
    (row,) = rows
    assert row['name'] == 'VoVNet'
    for phase in ('train', 'infer'):
        assert row[f'{phase}_eager_s'] > 0 and row[f'{phase}_compiled_s'] > 0
        lo, hi = row[f'{phase}_speedup_range']
        assert lo <= row[f'{phase}_speedup'] <= hi


def test_config_file_with_overrides():
    config = osp.join(REPO, 'configs', 'vovnet', 'mask_rcnn_vovnet39_coco.py')
    spec = parse_spec(f'{config}@channels_last=False')
    cfg = backbone_config(spec)
    assert cfg['type'] == 'VoVNet' and cfg['channels_last'] is False and cfg['init_cfg'] is None


def test_package_configs_name_detectors_and_backbones():
    """``mmdet::...`` (as in ``_base_``) is accepted wherever a config is: the
    --detectors reference (its default) and a backbone to compare."""
    detector = build_detector('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    assert type(detector).__name__ == 'MaskRCNN' and detector.backbone.depth == 50
    spec = parse_spec('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py')
    assert (spec['type'], spec['depth'], spec['frozen_stages'],
            spec['init_cfg']) == ('ResNet', 50, 1, None)
