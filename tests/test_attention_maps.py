"""Attention maps: the probes record exactly what each block applies (checked
against formulas written here), the pictures are drawn on the image, and
tools/analysis_tools/vis_attention.py works end to end with clear errors."""
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmattn.models import ATTENTION_BLOCKS, build_attention
from mmattn.visualization import AttentionRecorder, map_on_image, write_attention_pictures
from _helpers import randomise_all

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
C, H, W = 32, 10, 12


def _randomise(block):
    return randomise_all(block, std=0.3)


def _record(block, x, query_points=((0.5, 0.5),)):
    recorder = AttentionRecorder(block, query_points=query_points)
    with recorder, torch.no_grad():
        out = block(x)
    return out, {r.probe: r for r in recorder.records.values()}


def _gap(x):
    return x.mean(dim=(2, 3), keepdim=True)


@pytest.mark.parametrize('name', ['se', 'ese', 'eca', 'mbconv_se'])
def test_channel_gates_are_what_the_block_multiplies_by(name):
    block = _randomise(build_attention(name, C))
    x = torch.randn(2, C, H, W)
    out, records = _record(block, x)
    gate = records['probe'].maps[0]
    if name == 'se':
        expected = torch.sigmoid(block.fc2(F.relu(block.fc1(_gap(x)))))
    elif name == 'ese':
        expected = F.relu6(block.fc(_gap(x)) + 3) / 6
    elif name == 'eca':
        expected = torch.sigmoid(block.conv(_gap(x).reshape(2, 1, C))).reshape(2, C, 1, 1)
    else:
        expected = torch.sigmoid(block.conv_expand(F.silu(block.conv_reduce(_gap(x)))))
    torch.testing.assert_close(gate, expected.detach())
    torch.testing.assert_close(out, x * gate)
    assert records['probe'].kind == 'channel' and 0 <= gate.min() and gate.max() <= 1


def test_cbam_and_scse_gates():
    block = _randomise(build_attention('cbam', C))
    x = torch.randn(2, C, H, W)
    out, records = _record(block, x)
    mlp = block.channel_gate.mlp
    cg = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3)))).reshape(2, C, 1, 1)
    y = x * cg
    sg = torch.sigmoid(block.spatial_gate.bn(block.spatial_gate.conv(
        torch.cat([y.amax(1, keepdim=True), y.mean(1, keepdim=True)], 1))))
    torch.testing.assert_close(records['channel_probe'].maps[0], cg.detach())
    torch.testing.assert_close(records['spatial_probe'].maps[0], sg.detach())
    assert records['spatial_probe'].maps[0].shape == (2, 1, H, W)
    torch.testing.assert_close(out, y * sg)

    block = _randomise(build_attention('scse', C))
    out, records = _record(block, x)
    cg = torch.sigmoid(block.cse.fc2(F.relu(block.cse.fc1(_gap(x)))))
    sg = torch.sigmoid(block.sse(x))
    torch.testing.assert_close(records['channel_probe'].maps[0], cg.detach())
    torch.testing.assert_close(records['spatial_probe'].maps[0], sg.detach())
    torch.testing.assert_close(out, x * cg + x * sg)


def test_coordinate_attention_gates():
    block = _randomise(build_attention('coord', C))
    x = torch.randn(2, C, H, W)
    out, records = _record(block, x)
    pooled = torch.cat([x.mean(3, keepdim=True), x.mean(2, keepdim=True).transpose(2, 3)], 2)
    y = block.bn1(block.conv1(pooled))
    y = y * F.relu6(y + 3) / 6
    a_h = torch.sigmoid(block.conv_h(y[:, :, :H]))
    a_w = torch.sigmoid(block.conv_w(y[:, :, H:].transpose(2, 3)))
    torch.testing.assert_close(records['probe_h'].maps[0], a_h.detach())
    torch.testing.assert_close(records['probe_w'].maps[0], a_w.detach())
    assert a_h.shape == (2, C, H, 1) and a_w.shape == (2, C, 1, W)
    torch.testing.assert_close(out, x * a_h * a_w)


def test_psa_and_sk_branch_weights():
    block = _randomise(build_attention('psa', C, out_channels=C, kernels=(3, 5), groups=(1, 4),
                                       rd_ratio=1 / 4))
    x = torch.randn(2, C, H, W)
    out, records = _record(block, x)
    feats = [F.conv2d(x, conv.weight, None, 1, conv.padding, 1, conv.groups)
             for conv in block.branches]
    se = block.se
    logits = torch.stack([torch.sigmoid(se.fc2(F.relu(se.fc1(_gap(f))))).flatten(1)
                          for f in feats], 1)                          # N, S, C'
    weights = torch.softmax(logits, dim=1)
    torch.testing.assert_close(records['probe'].maps[0], weights.detach())
    expected = torch.cat([feats[1] * weights[:, 1, :, None, None],
                          feats[0] * weights[:, 0, :, None, None]], 1)  # official reversed order
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)

    block = _randomise(build_attention('sk', C, groups=8, min_channels=8))
    out, records = _record(block, x)
    feats = torch.stack([b(x) for b in block.branches], 1)
    logits = block.fc_select(block.fc_reduce(_gap(feats.sum(1))))
    weights = torch.softmax(logits.reshape(2, 2, C, 1, 1), dim=1)
    torch.testing.assert_close(records['probe'].maps[0], weights.detach())
    assert records['probe'].kind == 'branch'


def test_pairwise_maps_are_the_rows_of_the_query_points():
    x = torch.randn(1, C, H, W)
    points = ((0.0, 0.0), (0.55, 0.3))
    cells = [(0, 0), (int(0.55 * H), int(0.3 * W))]

    block = _randomise(build_attention('pam', C))
    _, records = _record(block, x, points)
    q = block.query_conv(x).flatten(2)
    k = block.key_conv(x).flatten(2)
    attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)        # HW x HW
    for i, (r, c) in enumerate(cells):
        torch.testing.assert_close(records['probe'].maps[0][0, i],
                                   attention[0, r * W + c].reshape(H, W).detach())
    assert records['probe'].query_cells == cells

    block = _randomise(build_attention('nonlocal', C))
    _, records = _record(block, x, points)
    theta = block.theta.conv(x).flatten(2)
    phi = block.phi.conv(x).flatten(2)
    attention = torch.softmax(theta.transpose(1, 2) @ phi / math.sqrt(theta.shape[1]), -1)
    for i, (r, c) in enumerate(cells):
        torch.testing.assert_close(records['probe'].maps[0][0, i],
                                   attention[0, r * W + c].reshape(H, W).detach())

    block = _randomise(build_attention('nonlocal', C, sub_sample=True))
    _, records = _record(block, x, points)
    assert records['probe'].maps[0].shape == (1, 2, H // 2, W // 2)
    torch.testing.assert_close(records['probe'].maps[0].sum(dim=(2, 3)), torch.ones(1, 2))


def test_criss_cross_maps_cover_the_querys_row_and_column():
    block = _randomise(build_attention('cc', C))
    x = torch.randn(1, C, H, W)
    _, records = _record(block, x, ((0.35, 0.6),))
    record = records['probe']
    assert len(record.maps) == 2  # one per recurrence
    r, c = int(0.35 * H), int(0.6 * W)
    q = block.query_conv(x)[0, :, r, c]
    k = block.key_conv(x)[0]
    column = q @ k[:, :, c]                     # energies to (i, c), i != r
    column[r] = float('-inf')
    row = q @ k[:, r, :]                        # energies to (r, j)
    weights = torch.softmax(torch.cat([column, row]), 0)
    expected = torch.zeros(H, W)
    expected[:, c] = weights[:H]
    expected[r, :] += weights[H:]
    torch.testing.assert_close(record.maps[0][0, 0], expected.detach())
    assert float(record.maps[0][0, 0].sum()) == pytest.approx(1.0, abs=1e-5)
    off = record.maps[0][0, 0].clone()
    off[r, :] = 0
    off[:, c] = 0
    assert float(off.abs().sum()) == 0  # nothing outside the cross


def test_channel_pairwise_and_context_weights():
    x = torch.randn(2, C, H, W)
    block = _randomise(build_attention('cam', C))
    _, records = _record(block, x)
    flat = x.flatten(2)
    energy = flat @ flat.transpose(1, 2)
    expected = torch.softmax(energy.amax(-1, keepdim=True) - energy, -1)
    torch.testing.assert_close(records['probe'].maps[0], expected, rtol=1e-4, atol=1e-6)

    block = _randomise(build_attention('gc', C))
    _, records = _record(block, x)
    expected = torch.softmax(block.conv_mask(x).flatten(1), -1).reshape(2, 1, H, W)
    torch.testing.assert_close(records['probe'].maps[0], expected.detach())


def test_every_block_in_the_factory_has_a_probe_whose_maps_are_in_range():
    x = torch.randn(1, 64, H, W)
    for name in sorted(ATTENTION_BLOCKS):
        block = _randomise(build_attention(name, 64))
        _, records = _record(block, x)
        used = [r for r in records.values() if r.maps]  # (scSE/PSA call their SE's gate only)
        assert used, name
        for record in used:
            values = torch.cat([m.flatten() for m in record.maps])
            assert float(values.min()) >= 0 and float(values.max()) <= 1, (name, record.kind)


def test_recorder_filters_by_name_and_stage_and_removes_its_hooks():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(dict(
        type='ResNet', depth=50, base_channels=8, plugins=[
            dict(cfg=dict(type='CBAM'), stages=(False, True, True, True), position='after_conv3'),
            dict(cfg=dict(type='SqueezeExcitation'), stages=(True, False, False, False),
                 position='after_conv3')]))
    model.eval()
    every = AttentionRecorder(model).probes()
    assert {stage for *_, stage in every} == {1, 2, 3, 4}
    cbam_stage3 = AttentionRecorder(model, blocks=['cbam'], stages=[3]).probes()
    assert {p[0] for p in cbam_stage3} == {f'layer3.{i}.cbam' for i in range(6)}
    by_path = AttentionRecorder(model, blocks=['layer1.2']).probes()
    assert [(p[0], p[1]) for p in by_path] == [('layer1.2.squeeze_excitation', 'probe')]
    recorder = AttentionRecorder(model, blocks=['se'])
    with recorder, torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert all(len(r.maps) == 1 for r in recorder.records.values())
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert all(len(r.maps) == 1 for r in recorder.records.values())  # hooks are gone
    with pytest.raises(ValueError, match='query point'):
        AttentionRecorder(model, query_points=[(0.5, 1.5)])


def test_overlay_maps_are_cropped_to_the_image_and_resized_to_it():
    # a map over a padded 64x96 input whose image part is 48x80; original image 120x200
    attention = torch.zeros(8, 12)
    attention[:6, :10] = torch.arange(60, dtype=torch.float32).reshape(6, 10) / 60
    attention[6:, :] = 5  # padding rows: must not appear
    attention[:, 10:] = 5
    out = map_on_image(attention, img_shape=(48, 80), input_shape=(64, 96), out_shape=(120, 200))
    assert out.shape == (120, 200)
    assert out.max() < 1.0
    expected = F.interpolate(attention[:6, :10][None, None], size=(120, 200), mode='bilinear',
                             align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_pictures_are_written_with_content(tmp_path):
    from PIL import Image
    block = _randomise(build_attention('cbam', C))
    recorder = AttentionRecorder(block)
    with recorder, torch.no_grad():
        block(torch.randn(1, C, 8, 10))
    image = np.zeros((60, 75, 3), np.uint8)
    files = write_attention_pictures(recorder.records, image, img_shape=(30, 40),
                                     input_shape=(32, 40), out_dir=str(tmp_path))
    assert len(files) == 2  # the spatial overlay and the channel strip
    for path in files:
        pixels = np.asarray(Image.open(path).convert('RGB'))
        assert pixels.std() > 10, path


def _save_random_checkpoint(config, path, cfg_options=None):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))


@pytest.fixture(scope='module')
def image_file(tmp_path_factory):
    from PIL import Image
    path = tmp_path_factory.mktemp('img') / 'shapes.png'
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


def _vis(*args):
    return subprocess.run([sys.executable, 'tools/analysis_tools/vis_attention.py', *args],
                          cwd=REPO, env=ENV, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize('config,expected', [
    ('configs/attention/mask_rcnn_r50_cbam_coco.py', ['layer2_0_cbam.png', 'channel_gates']),
    ('configs/epsanet/mask_rcnn_epsa50_coco.py', ['branch_weights']),
])
def test_vis_attention_tool_writes_pictures(config, expected, image_file, tmp_path):
    from PIL import Image
    checkpoint = tmp_path / 'model.pth'
    _save_random_checkpoint(config, checkpoint)
    out_dir = tmp_path / 'pictures'
    proc = _vis(image_file, config, str(checkpoint), '--out-dir', str(out_dir),
                '--device', 'cpu')
    assert proc.returncode == 0, proc.stderr[-3000:]
    # (.made-by-mmattn.json lists them: what a later run may replace)
    names = sorted(n for n in os.listdir(out_dir) if not n.startswith('.'))
    assert 'detections.jpg' in names
    for fragment in expected:
        assert any(fragment in n for n in names), (fragment, names)
    for name in names:
        pixels = np.asarray(Image.open(out_dir / name).convert('RGB'))
        assert pixels.std() > 10, name
    assert f'wrote {len(names)} pictures' in proc.stdout


@pytest.mark.slow
def test_vis_attention_errors_are_one_line(image_file, tmp_path):
    demo = 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py'
    proc = _vis(str(tmp_path / 'nope.png'), demo, 'x.pth')
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f"image '{tmp_path}/nope.png' does not exist" in proc.stderr
    proc = _vis(image_file, demo, str(tmp_path / 'missing.pth'))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f"checkpoint '{tmp_path}/missing.pth' does not exist" in proc.stderr
    # a model without attention blocks
    plain = tmp_path / 'plain.py'
    plain.write_text(f"_base_ = '{REPO}/{demo}'\n"
                     "model = dict(backbone=dict(_delete_=True, type='ResNet', depth=18, "
                     "base_channels=8, init_cfg=None), neck=dict(in_channels=[8, 16, 32, 64]))\n")
    checkpoint = tmp_path / 'plain.pth'
    _save_random_checkpoint(str(plain), checkpoint)
    proc = _vis(image_file, str(plain), str(checkpoint), '--out-dir', str(tmp_path / 'o'))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert 'has no attention blocks to draw' in proc.stderr
    assert not (tmp_path / 'o').exists()
    # a filter that matches nothing names what there is
    checkpoint = tmp_path / 'demo.pth'
    _save_random_checkpoint(demo, checkpoint)
    proc = _vis(image_file, demo, str(checkpoint), '--blocks', 'cbam')
    assert proc.returncode == 2
    assert "no attention block matches --blocks ['cbam']" in proc.stderr
    assert 'the model has EffectiveSqueezeExcitation' in proc.stderr


@pytest.mark.slow
def test_vis_attention_draws_centermasks_sam_inside_the_detections(image_file, tmp_path):
    from PIL import Image
    config = 'configs/demo/centermask-lite_vovnet19_slim_dw_synthetic.py'
    checkpoint = tmp_path / 'model.pth'
    _save_random_checkpoint(config, checkpoint)
    out_dir = tmp_path / 'pictures'
    proc = _vis(image_file, config, str(checkpoint), '--out-dir', str(out_dir), '--blocks', 'sam',
                '--cfg-options', 'model.test_cfg.bbox.score_thr=0.0')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(out_dir)) == [
        '.made-by-mmattn.json', '000_roi_head_mask_head_sam.png', 'detections.jpg']
    pixels = np.asarray(Image.open(out_dir / '000_roi_head_mask_head_sam.png').convert('RGB'))
    assert pixels.std() > 10


def test_roi_maps_are_placed_in_their_boxes():
    from mmattn.visualization.attention_pictures import maps_in_boxes
    maps = torch.stack([torch.full((14, 14), 0.25), torch.full((14, 14), 0.75)])
    boxes = np.array([[10, 5, 30, 25], [20, 20, 40, 35.5]])
    canvas = maps_in_boxes(maps, boxes, (40, 50))
    assert np.isnan(canvas[0, 0]) and np.isnan(canvas[39, 49])
    assert canvas[6, 11] == 0.25 and canvas[30, 35] == 0.75
    assert canvas[22, 25] == 0.75  # the later box is drawn over the earlier one
    assert np.isnan(canvas[36, 30]) and not np.isnan(canvas[35, 30])  # y2 = 35.5 -> rows < 36
