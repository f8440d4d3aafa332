"""The VoVNet checkpoint converters on synthetic checkpoints in every
supported format: they load with no missing or unexpected keys, and report
what they leave out."""
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
import torch

from mmattn.converters.vovnet_checkpoints import convert_detectron2, convert_timm, infer_spec
from mmattn.models.backbones import VoVNet
from mmattn.utils.checkpoint import load_checkpoint_file, state_dict_of
from _official_layouts import OFFICIAL_SPECS, official_shapes

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _official_state(arch, ese_position='every'):
    torch.manual_seed(1)
    return {k: torch.randn(shape) for k, shape in official_shapes(arch, ese_position).items()}


@pytest.mark.parametrize('arch', sorted(OFFICIAL_SPECS))
def test_official_key_names_and_shapes_convert_and_load_for_every_spec(arch):
    state, leftovers = convert_detectron2(
        {f'backbone.bottom_up.{k}': v for k, v in _official_state(arch).items()})
    assert not leftovers
    assert infer_spec(state) == (arch, 'every')
    net = VoVNet(arch, norm_cfg=dict(type='FrozenBN'))
    result = net.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == official_shapes(arch)


def _to_timm(state):
    """Official names -> timm's, written independently of the converter."""
    out = {}
    for k, v in state.items():
        if k.endswith('num_batches_tracked'):
            continue
        k2 = re.sub(r'^stem\.stem_(\d)/', lambda m: f'stem.{int(m.group(1)) - 1}.', k)
        k2 = re.sub(r'^stage(\d)\.OSA\d_(\d+)\.',
                    lambda m: f'stages.{int(m.group(1)) - 2}.blocks.{int(m.group(2)) - 1}.', k2)
        k2 = re.sub(r'layers\.(\d+)\.OSA\d_\d+_\d+/', r'conv_mid.\1.', k2)
        k2 = re.sub(r'concat\.OSA\d_\d+_concat/', 'conv_concat.', k2)
        k2 = re.sub(r'conv_reduction\.OSA\d_\d+_reduction_0/', 'conv_reduction.', k2)
        k2 = k2.replace('ese.fc.', 'attn.fc.')
        k2 = (k2.replace('dw_conv3x3', 'conv_dw').replace('pw_conv1x1', 'conv_pw')
              .replace('pw_norm', 'bn').replace('norm.', 'bn.'))
        out[k2] = v
    out['head.fc.weight'] = torch.randn(1000, 8)
    out['head.fc.bias'] = torch.randn(1000)
    return out


def test_detectron2_full_detector_pth_with_prefix(tmp_path):
    official = _official_state('V-39-eSE')
    model = {f'backbone.bottom_up.{k}': v for k, v in official.items()}
    model['backbone.fpn_lateral2.weight'] = torch.randn(256, 256, 1, 1)
    model['roi_heads.box_predictor.cls_score.weight'] = torch.randn(81, 1024)
    path = tmp_path / 'model_final.pth'
    torch.save({'model': model, 'iteration': 270000}, path)
    state, leftovers = convert_detectron2(state_dict_of(
        load_checkpoint_file(str(path)), strip_module=False))
    assert sorted(leftovers) == ['backbone.fpn_lateral2.weight',
                                 'roi_heads.box_predictor.cls_score.weight']
    assert infer_spec(state) == ('V-39-eSE', 'every')
    net = VoVNet('V-39-eSE', norm_cfg=dict(type='FrozenBN'))
    result = net.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in official.items():
        assert torch.equal(net.state_dict()[k], v)


def test_detectron2_pkl_numpy_no_wrapper(tmp_path):
    official = _official_state('V-19-slim-dw-eSE')
    path = tmp_path / 'vovnet19_slim_dw.pkl'
    with open(path, 'wb') as f:
        pickle.dump({k: v.numpy() for k, v in official.items()}, f)
    state, leftovers = convert_detectron2(state_dict_of(
        load_checkpoint_file(str(path)), strip_module=False))
    assert leftovers == []
    assert infer_spec(state) == ('V-19-slim-dw-eSE', 'every')
    # a BN model loads it too (num_batches_tracked is not required)
    net = VoVNet('V-19-slim-dw-eSE')
    result = net.load_state_dict(state, strict=False)
    assert not result.unexpected_keys
    assert all(k.endswith('num_batches_tracked') for k in result.missing_keys)


@pytest.mark.parametrize('arch,position', [('V-19-eSE', 'every'), ('V-19-dw-eSE', 'every'),
                                           ('V-39-eSE', 'last'), ('V-99-eSE', 'last')])
def test_timm_round_trip(arch, position):
    official = _official_state(arch, ese_position='last')
    state, leftovers = convert_timm(_to_timm(official))
    assert sorted(leftovers) == ['head.fc.bias', 'head.fc.weight']
    assert infer_spec(state) == (arch, position)
    assert set(state) == set(official)
    for k, v in official.items():
        assert torch.equal(state[k], v), k


def test_timm_known_names():
    state = {'stages.2.blocks.1.conv_mid.3.bn.running_var': torch.ones(1),
             'stem.1.conv_dw.weight': torch.ones(1),
             'stages.1.blocks.0.conv_reduction.conv.weight': torch.ones(1),
             'stages.3.blocks.1.attn.fc.bias': torch.ones(1)}
    out, _ = convert_timm(state)
    assert set(out) == {'stage4.OSA4_2.layers.3.OSA4_2_3/pw_norm.running_var',
                        'stem.stem_2/dw_conv3x3.weight',
                        'stage3.OSA3_1.conv_reduction.OSA3_1_reduction_0/conv.weight',
                        'stage5.OSA5_2.ese.fc.bias'}


def test_unmatched_checkpoint_is_reported():
    state = _official_state('V-39-eSE')
    del state['stage5.OSA5_2.ese.fc.weight']
    with pytest.raises(ValueError, match='no VoVNet spec matches.*closest is V-39-eSE'):
        infer_spec(state)


@pytest.mark.slow
def test_cli_writes_a_checkpoint_that_pretrained_init_loads(tmp_path):
    official = _official_state('V-19-slim-eSE')
    src = tmp_path / 'in.pth'
    torch.save({'model': {f'backbone.bottom_up.{k}': v for k, v in official.items()}
                | {'backbone.fpn_output2.weight': torch.zeros(1)}}, src)
    dst = tmp_path / 'out' / 'v19.pth'
    proc = subprocess.run([sys.executable, 'tools/model_converters/vovnet_detectron2_to_mmattn.py',
                           str(src), str(dst)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "arch='V-19-slim-eSE'" in proc.stdout and 'backbone.fpn_output2.weight' in proc.stdout
    net = VoVNet('V-19-slim-eSE', norm_cfg=dict(type='FrozenBN'),
                 init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    net.init_weights()
    for k, v in official.items():
        assert torch.equal(net.state_dict()[k], v)
