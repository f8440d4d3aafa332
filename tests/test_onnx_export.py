"""Backbone ONNX export (tools/deployment/export_backbone_onnx.py): every block
and two backbones through onnxruntime at two sizes, equal to PyTorch; a block
that cannot be exported is named, and nothing is written."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmattn.deployment import export_module
from mmattn.models import ATTENTION_BLOCKS, build_attention
from _helpers import randomise_all

ort = pytest.importorskip('onnxruntime')
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')


def _randomise(module):
    return randomise_all(module, std=0.2)


def _onnxruntime(path, x):
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {'input': x.numpy()})


@pytest.mark.parametrize('name', sorted(ATTENTION_BLOCKS))
def test_every_block_exports_with_symbolic_shapes(name, tmp_path):
    block = _randomise(build_attention(name, 64))
    path = tmp_path / f'{name}.onnx'
    export_module(block, str(path), (1, 64, 12, 10), dynamic=True)
    for shape in [(1, 64, 12, 10), (2, 64, 17, 24)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            expected = block(x).numpy()
        (got,) = _onnxruntime(path, x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_failed_export_leaves_no_file(tmp_path):
    block = build_attention('cc', 64).eval()
    with pytest.raises(Exception, match='einsum'):
        export_module(block, str(tmp_path / 'cc.onnx'), (1, 64, 8, 8), opset=11)
    assert os.listdir(tmp_path) == []


def _save_random_checkpoint(config, path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    _randomise(model.backbone)
    torch.save({'state_dict': model.state_dict()}, str(path))
    return model.backbone


def _export(*args):
    return subprocess.run([sys.executable, 'tools/deployment/export_backbone_onnx.py', *args],
                          cwd=REPO, env=ENV, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize('config', ['configs/epsanet/mask_rcnn_epsa50_coco.py',
                                    'configs/vovnet/mask_rcnn_vovnet39_coco.py'])
def test_backbone_export_tool_matches_pytorch_at_two_sizes(config, tmp_path):
    checkpoint = tmp_path / 'model.pth'
    backbone = _save_random_checkpoint(config, checkpoint)
    out = tmp_path / 'backbone.onnx'
    proc = _export(config, str(checkpoint), str(out), '--dynamic', '--shape', '96', '64')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'largest relative difference' in proc.stdout
    assert 'at 1x3x96x64' in proc.stdout and 'at 2x3x32x128' in proc.stdout
    backbone.eval()
    for shape in [(1, 3, 96, 64), (2, 3, 128, 160)]:  # the second one the tool did not try
        x = torch.randn(*shape)
        with torch.no_grad():
            expected = [t.numpy() for t in backbone(x)]
        got = _onnxruntime(out, x)
        assert len(got) == len(expected) == 4
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-3, atol=1e-4 * np.abs(e).max())


@pytest.mark.slow
def test_static_export_and_the_tools_errors(tmp_path):
    config = 'configs/attention/mask_rcnn_r50_cc_coco.py'
    checkpoint = tmp_path / 'model.pth'
    _save_random_checkpoint(config, checkpoint)
    out = tmp_path / 'cc.onnx'
    proc = _export(config, str(checkpoint), str(out), '--shape', '64', '64', '--opset', '11')
    assert proc.returncode == 1
    assert ('block layer4.0.recurrent_criss_cross_attention (RecurrentCrissCrossAttention) '
            'cannot be exported with opset 11') in proc.stderr
    assert "'aten::einsum'" in proc.stderr
    assert 'Torch IR graph' not in proc.stdout + proc.stderr
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ['model.pth']
    proc = _export(config, 'none', str(out), '--shape', '64',
                   '64')  # no checkpoint: as initialised
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'static shape' in proc.stdout and proc.stdout.count('at 1x3x64x64') == 2
    proc = _export(config, str(tmp_path / 'nope.pth'), str(tmp_path / 'x.onnx'))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f"checkpoint '{tmp_path}/nope.pth' does not exist" in proc.stderr
    proc = _export(config, str(checkpoint), str(tmp_path / 'x.onnx'), '--opset', '30')
    assert proc.returncode == 2 and '--opset 30 is not one' in proc.stderr
    for args, phrase in ((['--benchmark', '-5'],
                          "argument --benchmark: '-5' is not an integer >= 0"),
                         (['--rtol', '-1'], "argument --rtol: '-1' is not a number > 0")):
        proc = _export(config, str(checkpoint), str(tmp_path / 'x.onnx'), *args)
        assert proc.returncode == 2 and phrase in proc.stderr and 'Traceback' not in proc.stderr
        assert not (tmp_path / 'x.onnx').exists()
