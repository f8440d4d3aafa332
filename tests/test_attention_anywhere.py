"""Attention anywhere (#25): ``WithAttention`` puts blocks at any point of any
backbone or neck from a config, in mmdet, mmpretrain and mmseg, keeping the
wrapped module's keys and contract; EPSANet and VoVNet build in every
codebase's configs."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.registry import MODELS, DefaultScope

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _build(cfg: dict, scope: str = 'mmdet') -> nn.Module:
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg)


def _randomise(module: nn.Module, seed: int = 0) -> None:
    """Non-trivial block weights (zero-initialised gammas would hide errors)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith('attention_blocks.'):
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)


RESNET = dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3), frozen_stages=1,
              norm_eval=False)


def test_blocks_after_each_stage_equal_the_hand_composition():
    """ResNet-18 with CBAM after each stage: outputs equal a stock ResNet's
    stages run one by one with the same block applied in between."""
    from mmdet.models.backbones import ResNet
    net = _build(dict(type='WithAttention', module=RESNET,
                      insert=[dict(at='layer*', block=dict(type='CBAM', rd_ratio=1 / 8))]))
    _randomise(net)
    stock = ResNet(**{k: v for k, v in RESNET.items() if k != 'type'})
    stock.load_state_dict({k: v for k, v in net.state_dict().items()
                           if not k.startswith('attention_blocks.')})
    net.eval()
    stock.eval()
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        got = net(x)
        h = stock.maxpool(stock.relu(stock.norm1(stock.conv1(x))))
        expected = []
        for name in stock.res_layers:
            h = net.attention_blocks[name][0](getattr(stock, name)(h))
            expected.append(h)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=0, atol=0)


def test_blocks_before_a_point_and_on_every_neck_output():
    from mmdet.models.necks import FPN
    neck = dict(type='FPN', in_channels=[16, 32, 64], out_channels=24, num_outs=4)
    net = _build(dict(type='WithAttention', module=neck,
                      insert=[dict(outputs=True, block=dict(type='se', rd_ratio=1 / 4)),
                              dict(at='lateral_convs.1', position='before',
                                   block=dict(type='EfficientChannelAttention'))]))
    _randomise(net)
    stock = FPN(**{k: v for k, v in neck.items() if k != 'type'})
    stock.load_state_dict({k: v for k, v in net.state_dict().items()
                           if not k.startswith('attention_blocks.')})
    feats = [torch.randn(2, c, s, s) for c, s in ((16, 32), (32, 16), (64, 8))]
    with torch.no_grad():
        got = net(feats)
        before = net.attention_blocks['lateral_convs__1__before'][0]
        hooked = stock.lateral_convs[1].forward
        stock.lateral_convs[1].forward = lambda t: hooked(before(t))
        plain = stock(feats)
    assert len(got) == 4 and all(g.shape[1] == 24 for g in got)
    blocks = net.attention_blocks['outputs_0']
    for g, p, block in zip(got, plain, blocks):
        torch.testing.assert_close(g, block(p), rtol=0, atol=0)


def test_a_stock_checkpoint_loads_strictly_and_keys_stay_the_stock_ones(tmp_path):
    from mmdet.models.backbones import ResNet
    net = _build(dict(type='WithAttention', module=RESNET,
                      insert=[dict(at='layer3.*', block=dict(type='CBAM'))]))
    stock = ResNet(**{k: v for k, v in RESNET.items() if k != 'type'})
    own = [k for k in net.state_dict() if not k.startswith('attention_blocks.')]
    assert own == list(stock.state_dict())
    assert sorted({k.split('.')[1] for k in net.state_dict()
                   if k.startswith('attention_blocks.')}) == ['layer3__0', 'layer3__1']
    result = net.load_state_dict(stock.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the same through init_cfg Pretrained (mmengine's loader) and the runner's check
    path = tmp_path / 'r18.pth'
    torch.save({'state_dict': stock.state_dict()}, path)
    from mmattn.utils.checkpoint import check_fit
    from mmattn.utils.errors import CheckpointError
    fit = check_fit(net, stock.state_dict(), purpose='fine-tune', shown='stock')
    assert fit.complete and len(fit.loaded) == len(net.state_dict()) - sum(
        k.endswith('num_batches_tracked') for k in net.state_dict())
    # ... but not to be evaluated: the blocks would be random
    with pytest.raises(CheckpointError, match='blocks added to the stock model'):
        check_fit(net, stock.state_dict(), purpose='evaluate', shown='stock')
    # a checkpoint of the wrapped model with some block weights lost is incomplete
    partial = dict(net.state_dict())
    partial.pop('attention_blocks.layer3__0.0.channel_gate.mlp.0.weight')
    with pytest.raises(CheckpointError, match='1 missing'):
        check_fit(net, partial, purpose='fine-tune', shown='partial')
    with pytest.raises(RuntimeError, match='Missing key'):
        net.load_state_dict(partial, strict=True)


def test_frozen_stages_freezes_the_blocks_inside_and_a_step_leaves_them(tmp_path):
    net = _build(dict(type='WithAttention', module=RESNET,
                      insert=[dict(at='layer1', block=dict(type='CBAM')),
                              dict(at='layer2', block=dict(type='CBAM')),
                              dict(at='layer1.0', block=dict(type='se'), frozen=False)]))
    net.train()
    frozen = net.attention_blocks['layer1'][0]
    assert not any(p.requires_grad for p in frozen.parameters()) and not frozen.training
    assert all(p.requires_grad for p in net.attention_blocks['layer2'].parameters())
    assert all(p.requires_grad for p in net.attention_blocks['layer1__0'].parameters())
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    loss = sum(o.mean() for o in net(torch.randn(2, 3, 64, 64)))
    loss.backward()
    optimizer.step()
    for key, value in frozen.state_dict().items():
        assert torch.equal(value, before[key]), key
    net.eval()
    net.train()  # train() again: still frozen (mmdet's _freeze_stages runs first)
    assert not any(p.requires_grad for p in frozen.parameters())


def test_init_cfg_given_to_the_wrapper_reaches_the_module():
    """``model.backbone.init_cfg=None`` (a ``--cfg-options`` users type)
    works on a wrapped backbone as on the stock one."""
    weights = dict(type='Pretrained', checkpoint='some/resnet.pth')
    wrapped = dict(type='WithAttention', module=dict(RESNET, init_cfg=weights),
                   insert=[dict(at='layer4', block='se')])
    assert _build(wrapped).init_cfg == weights
    # None reached ResNet, which then sets its own default initialisation
    assert _build(dict(wrapped, init_cfg=None)).init_cfg == \
        _build(dict(RESNET, init_cfg=None)).init_cfg != weights


def test_init_weights_initialises_the_blocks_after_the_module():
    net = _build(dict(type='WithAttention',
                      module=dict(RESNET, init_cfg=[dict(type='Constant', val=0.5,
                                                         layer='Conv2d')]),
                      insert=[dict(at='layer2', block=dict(type='nonlocal'))]))
    net.init_weights()
    block = net.attention_blocks['layer2'][0]
    assert float(net.conv1.weight.mean()) == 0.5       # the module's init_cfg
    assert float(block.conv_out.conv.weight.abs().sum()) == 0  # then the block's own init


def test_deep_copies_run_their_own_blocks():
    """EMA hooks deep-copy the model: the copy's hooks must use its blocks."""
    net = _build(dict(type='WithAttention', module=RESNET,
                      insert=[dict(at='layer4', block=dict(type='se'))]))
    twin = copy.deepcopy(net).eval()
    net.eval()
    with torch.no_grad():
        twin.attention_blocks['layer4'][0].fc2.bias.fill_(-30.0)  # gate closes: output 0
        out = twin(torch.randn(1, 3, 64, 64))[-1]
        original = net(torch.randn(1, 3, 64, 64))[-1]
    assert float(out.abs().max()) < 1e-6 and float(original.abs().max()) > 0


@pytest.mark.parametrize('insert,message', [
    (dict(at='stage*', block=dict(type='CBAM')),
     "at='stage*' matches no submodule of ResNet; nearest paths: "),
    (dict(at=['layer1', 'layer1.*'], block=dict(type='CBAM')),
     "is ambiguous: it matches 'layer1' and 'layer1.0' inside it"),
    (dict(at='layer1', block=dict(type='CBAM', rd_ratio=1 / 128)),
     "block 'CBAM' cannot go at 'layer1' (64 channels): CBAM: in_channels=64 with "
     'rd_ratio=0.0078125 leaves 0'),
    (dict(at='layer1', block=dict(type='Nope')),
     "block type 'Nope' is unknown; ours: cbam (CBAM), coord (CoordinateAttention), "),
    (dict(at='layer1', blocks=dict(type='CBAM')), "insert[0] has unknown keys ['blocks']"),
    (dict(at='layer1', block=dict(type='CBAM'), position='around'),
     "position='around' is invalid"),
])
def test_mistakes_are_one_line_errors_at_build_time(insert, message):
    with pytest.raises(ValueError, match='WithAttention: ') as info:
        _build(dict(type='WithAttention', module=RESNET, insert=[insert]))
    assert message in str(info.value) and '\n' not in str(info.value)


def test_inserted_blocks_export_to_onnx_and_vis_attention_sees_them(tmp_path):
    import numpy as np
    import onnxruntime as ort

    from mmattn.deployment import export_module
    from mmattn.visualization import AttentionRecorder
    net = _build(dict(type='WithAttention', module=RESNET,
                      insert=[dict(at='layer*', block=dict(type='CBAM'))]))
    _randomise(net)
    net.eval()
    export_module(net, str(tmp_path / 'b.onnx'), (1, 3, 64, 64), dynamic=True)
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        expected = [t.numpy() for t in net(x)]
    got = ort.InferenceSession(str(tmp_path / 'b.onnx')).run(None, {'input': x.numpy()})
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
    wrapper = nn.Module()
    wrapper.backbone = net
    recorder = AttentionRecorder(wrapper)
    paths = sorted({p[0] for p in recorder.probes()})
    assert paths == [f'backbone.attention_blocks.layer{i}.0' for i in range(1, 5)]


# ------------------------------------------------------------ the codebases
def _config(path: str):
    from mmattn.utils.config import load_config
    return load_config(path if '::' in path else osp.join(REPO, path))


def _detector_step(cfg, shape=(64, 64)):
    from mmdet.testing import demo_mm_inputs
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        data = model.data_preprocessor(
            demo_mm_inputs(2, [[3, *shape]] * 2, num_items=[3, 3],
                           num_classes=model.bbox_head.num_classes), True)
        model.train()
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        loss.backward()
        model.eval()
        with torch.no_grad():
            results = model(**model.data_preprocessor(
                demo_mm_inputs(1, [[3, *shape]]), False), mode='predict')
    return model, loss, results


@pytest.mark.parametrize('config,part,points', [
    ('configs/attention/yolox_s_cbam_8xb8-300e_coco.py', 'backbone',
     ['stage1', 'stage2', 'stage3', 'stage4']),
    ('configs/attention/retinanet_r50_fpn-cbam_1x_coco.py', 'neck', ['outputs_0']),
])
def test_mmdet_configs_build_train_a_step_and_predict(config, part, points):
    cfg = _config(config)
    cfg.model.backbone.get('module', cfg.model.backbone)['init_cfg'] = None
    # YOLOX's multi-scale batch resize reads the runner's iteration, which a bare step lacks
    cfg.model.data_preprocessor.pop('batch_augments', None)
    model, loss, results = _detector_step(cfg)
    assert torch.isfinite(loss) and len(results) == 1
    wrapped = getattr(model, part)
    assert sorted(wrapped.attention_blocks) == points
    grads = [p.grad for p in wrapped.attention_blocks.parameters()]
    assert grads and all(g is not None for g in grads)


def test_mmpretrain_resnet50_cbam_in_every_bottleneck_trains_a_step():
    pytest.importorskip('mmpretrain', reason='mmpretrain (the pretrain extra) is not installed')
    import mmpretrain  # noqa: F401
    from mmpretrain.structures import DataSample
    cfg = _config('configs/attention/imagenet/resnet50_cbam_8xb32_in1k.py')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        assert len(model.backbone.attention_blocks) == 16  # 3 + 4 + 6 + 3 bottlenecks
        samples = [DataSample().set_gt_label(i) for i in range(2)]
        model.train()
        losses = model(torch.randn(2, 3, 64, 64), samples, mode='loss')
        losses['loss'].backward()
        assert model.backbone.attention_blocks['layer4__2__bn3'][0].channel_gate.mlp[0] \
            .weight.grad is not None
        model.eval()
        with torch.no_grad():
            assert model(torch.randn(1, 3, 64, 64), mode='predict')[0].pred_score.shape == (1000,)


def _mmseg():
    pytest.importorskip('mmseg', reason='mmsegmentation (the segmentation extra) is not installed')
    import mmseg.models  # noqa: F401  (needs ftfy and regex)


def _segmentor_step(cfg):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    with DefaultScope.overwrite_default_scope('mmseg'):
        cfg.model.backbone.get('module', cfg.model.backbone).init_cfg = None
        cfg.model.pretrained = None  # (no download here)
        cfg.model.data_preprocessor.size = (64, 64)
        model = MODELS.build(cfg.model)
        model.init_weights()
        samples = []
        for _ in range(2):
            sample = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64),
                                                 ori_shape=(64, 64)))
            sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64)))
            samples.append(sample)
        model.train()
        losses = model(torch.randn(2, 3, 64, 64), samples, mode='loss')
        loss, _ = model.parse_losses(losses)
        loss.backward()
        model.eval()
        with torch.no_grad():
            out = model(torch.randn(1, 3, 64, 64), samples[:1], mode='predict')
    return model, loss, out


@pytest.mark.slow
@pytest.mark.parametrize('config,backbone', [
    ('configs/epsanet/ade20k/upernet_epsa50_4xb4-160k_ade20k-512x512.py', 'EPSANet'),
    ('configs/vovnet/ade20k/upernet_vovnet39_4xb4-160k_ade20k-512x512.py', 'VoVNet'),
])
def test_our_backbones_train_a_step_in_mmseg_configs(config, backbone):
    _mmseg()
    model, loss, out = _segmentor_step(_config(config))
    assert type(model.backbone).__name__ == backbone and torch.isfinite(loss)
    assert out[0].pred_sem_seg.data.shape[-2:] == (64, 64)


def test_mmseg_stock_config_with_inserted_blocks_keeps_its_weights_and_trains_a_step():
    """mmseg's own UPerNet R-50 config with CBAM after each stage of its
    ResNetV1c: the stock ``model.pretrained`` still reaches the wrapped
    backbone; a smaller depth then takes a training step."""
    _mmseg()
    stock = _config('mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py')
    assert stock.model.pretrained == 'open-mmlab://resnet50_v1c'
    stock.model.backbone = dict(type='WithAttention', module=stock.model.backbone,
                                insert=[dict(at='layer*', block=dict(type='CBAM'))])
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(copy.deepcopy(stock.model))  # (mmseg writes into the dict)
    assert type(model.backbone).__name__ == 'ResNetV1cWithAttention'
    assert model.backbone.init_cfg == dict(type='Pretrained',
                                           checkpoint='open-mmlab://resnet50_v1c')
    assert sorted(model.backbone.attention_blocks) == ['layer1', 'layer2', 'layer3', 'layer4']
    stock.model.backbone.module.update(depth=18, norm_cfg=dict(type='BN', requires_grad=True))
    stock.model.decode_head.in_channels = [64, 128, 256, 512]
    stock.model.auxiliary_head.in_channels = 256
    model, loss, _ = _segmentor_step(stock)
    assert torch.isfinite(loss) and len(model.backbone.attention_blocks) == 4
    grads = [p.grad for p in model.backbone.attention_blocks.parameters()]
    assert grads and all(g is not None for g in grads)


@pytest.mark.slow
def test_our_backbones_train_a_step_in_mmpretrain_with_mmattn_imported_only():
    """What an mmpretrain config with custom_imports=['mmattn'] gets: EPSANet
    and VoVNet found in mmpretrain's scope, a training step and a prediction."""
    pytest.importorskip('mmpretrain', reason='mmpretrain (the pretrain extra) is not installed')
    import subprocess
    import sys
    code = ('import mmattn, torch\n'
            'from mmengine.registry import MODELS, DefaultScope\n'
            'import mmpretrain.models  # mmpretrain\'s own modules, nothing of mmattn.pretrain\n'
            'from mmpretrain.structures import DataSample\n'
            'with DefaultScope.overwrite_default_scope("mmpretrain"):\n'
            '    for b in (dict(type="EPSANet", depth=50),\n'
            '              dict(type="VoVNet", arch="V-19-eSE")):\n'
            '        m = MODELS.build(dict(type="ImageClassifier", backbone=b,\n'
            '            neck=dict(type="GlobalAveragePooling"),\n'
            '            head=dict(type="LinearClsHead", num_classes=3,\n'
            '                      in_channels=2048 if "depth" in b else 1024)))\n'
            '        samples = [DataSample().set_gt_label(i) for i in (0, 2)]\n'
            '        loss = m(torch.randn(2, 3, 64, 64), samples, mode="loss")["loss"]\n'
            '        loss.backward()\n'
            '        grads = [p.grad is not None for p in m.backbone.parameters()]\n'
            '        m.eval()\n'
            '        out = m(torch.randn(1, 3, 64, 64), mode="predict")[0].pred_score\n'
            '        print(type(m.backbone).__name__, bool(torch.isfinite(loss)), all(grads),\n'
            '              tuple(out.shape))\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'EPSANet True True (3,)' in proc.stdout and 'VoVNet True True (3,)' in proc.stdout, \
        proc.stdout


def test_synthetic_ade20k_is_deterministic_and_mmseg_reads_it(tmp_path):
    """The set the mmseg configs were checked on: same seed, same files;
    labels 1 (background) and 2..5 (shapes), 0..4 after mmseg's
    ``reduce_zero_label``; refused over a folder it did not write."""
    import cv2
    import numpy as np

    from mmattn.datasets.synthetic import make_synthetic_ade20k
    from mmattn.utils.errors import UsageError
    a = make_synthetic_ade20k(str(tmp_path / 'a'), num_train=3, num_val=2, image_size=64,
                              min_side=12, max_side=32, seed=3)
    make_synthetic_ade20k(str(tmp_path / 'b'), num_train=3, num_val=2, image_size=64,
                          min_side=12, max_side=32, seed=3)
    name = 'annotations/training/ADE_training_00000002.png'
    assert (tmp_path / 'a' / name).read_bytes() == (tmp_path / 'b' / name).read_bytes()
    labels = np.concatenate([cv2.imread(str(p), cv2.IMREAD_UNCHANGED).ravel() for p in
                             sorted((tmp_path / 'a' / 'annotations').rglob('*.png'))])
    assert set(np.unique(labels)) <= {1, 2, 3, 4, 5} and (labels == 1).any() and (labels > 1).any()
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.txt').write_text('keep')
    with pytest.raises(UsageError):
        make_synthetic_ade20k(str(tmp_path / 'mine'), overwrite=True)
    assert (tmp_path / 'mine' / 'notes.txt').read_text() == 'keep'
    _mmseg()
    from mmseg.datasets import ADE20KDataset
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = ADE20KDataset(
            data_root=str(tmp_path / 'a'),
            data_prefix=dict(img_path='images/validation',
                             seg_map_path='annotations/validation'),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', reduce_zero_label=True)])
        seg = dataset[0]['gt_seg_map']
    assert len(dataset) == 2 and a['validation'].endswith('images/validation')
    assert set(np.unique(seg)) <= {0, 1, 2, 3, 4} and (seg == 0).any()
