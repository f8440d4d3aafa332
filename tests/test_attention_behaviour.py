"""Shapes, layouts, precisions, ONNX export, argument errors and
initialisation order, for every block of the factory."""
import io

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmattn.models import ATTENTION_BLOCKS, build_attention

NAMES = sorted(ATTENTION_BLOCKS)
C = 64  # valid for every block's defaults (SK's groups=32, PSA's 16 per branch)


def _block(name, **kwargs):
    torch.manual_seed(0)
    m = build_attention(name, C, **kwargs).eval()
    # Give zero-initialised gammas/last convs values so every path is exercised.
    for p in m.parameters():
        if (p == 0).all():
            with torch.no_grad():
                p.normal_(0, 0.2)
    return m


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('size', [(1, 1), (7, 5), (2, 9)])
@pytest.mark.parametrize('batch', [0, 1, 3])
def test_any_size_and_batch(name, size, batch):
    """Also an empty batch (no RoIs in a mask head, say): an empty output."""
    m = _block(name)
    y = m(torch.randn(batch, C, *size))
    assert y.shape == (batch, C, *size)
    assert torch.isfinite(y).all()
    if batch == 0:
        m.train()
        y = m(torch.randn(batch, C, *size, requires_grad=True))
        y.sum().backward()
        assert y.shape == (0, C, *size)


@pytest.mark.parametrize('name,shape', [
    ('cam', (2, C // 2, 5, 5)), ('cam', (2, C, 25)), ('eca', (2, C // 2, 5, 5)),
    ('eca', (2, C, 25)), ('sam', (2, C // 2, 5, 5)), ('sam', (2, C, 25)),
])
def test_blocks_without_channel_weights_refuse_another_width(name, shape):
    """CAM, ECA and SAM have no weight tied to the channel count, so another
    width (or a 3-D input) would pass silently; they refuse it, naming themselves."""
    m = _block(name)
    with pytest.raises(ValueError, match=rf'{type(m).__name__}: input of shape '
                                         rf'\({shape[0]}, {shape[1]}.* is invalid; expected '
                                         rf'\(N, {C}, H, W\)'):
        m(torch.randn(*shape))


def test_psa_is_an_mmcv_plugin_mapping_c_to_c():
    from mmcv.cnn import build_plugin_layer
    name, layer = build_plugin_layer(dict(type='PyramidSqueezeAttention'), in_channels=C)
    assert name == 'pyramid_squeeze_attention'
    assert layer(torch.randn(2, C, 6, 6)).shape == (2, C, 6, 6)


@pytest.mark.parametrize('name', NAMES)
def test_channels_last_gives_same_output(name):
    m = _block(name)
    x = torch.randn(2, C, 6, 5)
    ref = m(x)
    out = m(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_forward_backward(name, dtype):
    m = _block(name)  # eval: BN uses running statistics in both passes
    x = torch.randn(2, C, 6, 5, requires_grad=True)
    with torch.autocast('cpu', dtype=dtype):
        y = m(x)
    ref = m(x.detach()).detach()
    assert torch.isfinite(y).all()
    rel = (y.float() - ref).norm() / ref.norm()
    assert rel < 5e-2, f'{name}: relative error {rel:.3g} under {dtype} autocast'
    y.float().sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize('name', ['nonlocal', 'pam', 'cam', 'cc', 'gc'])
def test_energies_stay_float32_under_autocast(name):
    """Large activations overflow a float16 energy; the block computes it in float32."""
    m = _block(name)
    x = torch.randn(1, C, 8, 8) * 40
    with torch.autocast('cpu', dtype=torch.float16):
        y = m(x)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize('name', NAMES)
def test_onnx_export_matches_onnxruntime(name):
    ort = pytest.importorskip('onnxruntime')
    m = _block(name)
    x = torch.randn(2, C, 7, 5)
    f = io.BytesIO()
    torch.onnx.export(m, (x,), f, opset_version=17, dynamo=False,
                      input_names=['x'], output_names=['y'])
    session = ort.InferenceSession(f.getvalue(), providers=['CPUExecutionProvider'])
    (y,) = session.run(None, {'x': x.numpy()})
    np.testing.assert_allclose(y, m(x).detach().numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('name', NAMES)
def test_plugin_blocks_take_in_channels_by_keyword(name):
    """mmcv's build_plugin_layer passes in_channels as a keyword."""
    from mmcv.cnn import build_plugin_layer
    cls = ATTENTION_BLOCKS[name]
    _, layer = build_plugin_layer(dict(type=cls.__name__), postfix='_x', in_channels=C)
    assert isinstance(layer, cls)


@pytest.mark.parametrize('name,kwargs,message', [
    ('se', dict(in_channels=8, rd_ratio=1 / 16),
     'SqueezeExcitation: in_channels=8 with rd_ratio=0.0625 leaves 0'),
    ('se', dict(in_channels=0), "SqueezeExcitation: in_channels=0 is invalid"),
    ('cbam', dict(in_channels=8), 'CBAM: in_channels=8 with rd_ratio=0.0625 leaves 0'),
    ('cbam', dict(in_channels=64, spatial_kernel=4), 'CBAM: spatial_kernel=4 must be odd'),
    ('scse', dict(in_channels=64, aggregation='sum'), "aggregation='sum' is invalid"),
    ('psa', dict(in_channels=64, out_channels=62), 'out_channels=62 must be divisible by'),
    ('psa', dict(in_channels=60, out_channels=64),
     'PyramidSqueezeAttention: in_channels=60 must be divisible by groups=8'),
    ('psa', dict(in_channels=64, out_channels=64, kernels=(
        3, 5), groups=(1, 4, 8)), 'must have the same length'),
    ('psa', dict(in_channels=64, out_channels=64, kernels=(3, 4, 7, 9)), 'must all be odd'),
    ('psa', dict(in_channels=32, out_channels=32, groups=(1, 2, 4, 8)),
     'in_channels=8 with rd_ratio=0.0625 leaves 0'),
    ('sk', dict(in_channels=48), 'SelectiveKernel: in_channels=48 must be divisible by groups=32'),
    ('nonlocal', dict(in_channels=1),
     'NonLocalAttention: in_channels=1 with rd_ratio=0.5 leaves 0'),
    ('nonlocal', dict(in_channels=8, mode='softmax'), "mode='softmax' is invalid"),
    ('cc', dict(in_channels=4),
     'RecurrentCrissCrossAttention: in_channels=4 with rd_ratio=0.125 leaves 0'),
    ('cc', dict(in_channels=64, recurrence=0), 'recurrence=0 is invalid'),
    ('pam', dict(in_channels=4),
     'DANetPositionAttention: in_channels=4 with rd_ratio=0.125 leaves 0'),
    ('eca', dict(in_channels=64, kernel_size=4), 'kernel_size=4 must be odd'),
    ('gc', dict(in_channels=8), 'GlobalContextBlock: in_channels=8 with rd_ratio=0.0625 leaves 0'),
    ('gc', dict(in_channels=64, fusion_types=('channel_sum',)),
     "fusion_types='channel_sum' is invalid"),
    ('mbconv_se', dict(in_channels=64, rd_ratio=0), 'rd_ratio=0 is invalid'),
    ('ese', dict(in_channels=64, gate='relu'), "gate='relu' is invalid"),
    ('coord', dict(in_channels=64, rd_ratio=1.5),
     'CoordinateAttention: rd_ratio=1.5 is invalid; expected a number in (0, 1]'),
    ('se', dict(in_channels=64, rd_ratio=16),
     'rd_ratio=16 is invalid; expected a number in (0, 1], e.g. 1/16 '
     '(the old reduction=16 is rd_ratio=1/16)'),
    ('sk', dict(in_channels=64, rd_channels=0), 'SelectiveKernel: rd_channels=0 is invalid'),
    ('cbam', dict(in_channels=64, rd_divisor=0), 'CBAM: rd_divisor=0 is invalid'),
])
def test_bad_arguments_raise_value_error_at_construction(name, kwargs, message):
    in_channels = kwargs.pop('in_channels')
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        build_attention(name, in_channels, **kwargs)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        build_attention('transformer', 64)
    for name in NAMES:
        assert name in str(err.value)


@pytest.mark.parametrize('name,params', [
    ('nonlocal', lambda m: [m.conv_out.conv.weight, m.conv_out.conv.bias]),
    ('gc', lambda m: [m.channel_add_conv[-1].weight, m.channel_add_conv[-1].bias]),
    ('cc', lambda m: [m.gamma]),
    ('pam', lambda m: [m.gamma]),
    ('cam', lambda m: [m.gamma]),
])
def test_identity_init_survives_parent_init_cfg(name, params):
    """mmengine applies a parent's init_cfg to all children first, then each
    child's init_weights(); the zero init must come out on top."""
    parent = BaseModule(init_cfg=dict(type='Normal', layer='Conv2d', std=1.0, bias=1.0))
    parent.block = build_attention(name, C)
    for p in params(parent.block):
        with torch.no_grad():
            p.fill_(3.0)
    parent.init_weights()
    for p in params(parent.block):
        assert (p == 0).all(), f'{name}: zero init undone'
    x = torch.randn(1, C, 4, 4)
    torch.testing.assert_close(parent.block(x), x)


def test_registry_refuses_silent_overwrite_of_mmcv_name():
    from mmattn.registry import register

    with pytest.raises(KeyError, match="'NonLocal2d'.*already has mmcv"):
        @register()
        class NonLocal2d(nn.Module):  # noqa: F811  (same name as mmcv's)
            pass


def test_every_block_is_in_mmdet_models_registry():
    from mmdet.registry import MODELS
    for cls in ATTENTION_BLOCKS.values():
        assert MODELS.get(cls.__name__) is cls


@pytest.mark.slow
def test_device_check_tool_runs_every_module_on_cpu():
    """The GPU check (tools/analysis_tools/device_check.py) on CPU, bfloat16."""
    from mmattn.analysis.device_check import check
    rows = check('cpu', dtypes=('bf16',))
    names = {r['name'] for r in rows}
    assert {f'block:{n}' for n in NAMES} <= names
    assert {'backbone:EPSANet-50', 'backbone:VoVNet-39', 'backbone:VoVNet-39 with_cp'} <= names
    assert all(r['ok'] for r in rows), [r for r in rows if not r['ok']]


@pytest.mark.parametrize('mode', ['embedded_gaussian', 'gaussian', 'dot_product',
                                  'concatenation'])
def test_nonlocal_init_weights_with_sub_sample(mode):
    m = build_attention("nonlocal", C, sub_sample=True, mode=mode)
    for p in m.parameters():
        nn.init.constant_(p, 1.0)
    m.init_weights()
    assert float(m.conv_out.conv.weight.abs().sum()) == 0  # starts as the identity
    g_conv = m.g[0].conv
    assert 0 < float(g_conv.weight.std()) < 0.05  # normal(0, 0.01)
    x = torch.randn(2, C, 8, 8)
    torch.testing.assert_close(m(x), x)


def test_scse_default_rd_ratio_is_the_authors():
    m = build_attention('scse', C)
    squeeze = [mod for mod in m.cse.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))][0]
    assert getattr(squeeze, 'out_channels', getattr(squeeze, 'out_features', None)) == C // 2


def _large_energy_case(name: str):
    """A block and an input whose attention energies (before any scaling) are
    8e4..1e6, above float16's largest value (65504), while the query and key
    values themselves (about 100..160) are well inside it. Query and key read
    channels 0 and 1 only, the value every channel but those, so the output
    depends on where the attention goes."""
    m = _block(name)
    query, key, value = {'nonlocal': ('theta', 'phi', 'g')}.get(
        name, ('query_conv', 'key_conv', 'value_conv'))
    with torch.no_grad():
        for attr in (query, key):
            conv = getattr(getattr(m, attr), 'conv', getattr(m, attr))
            conv.weight.zero_()
            conv.weight[:, :2] = 1.0
            conv.bias.zero_()
        value_conv = getattr(getattr(m, value), 'conv', getattr(m, value))
        value_conv.weight[:, :2] = 0
    torch.manual_seed(1)
    x = torch.rand(1, C, 6, 6)
    x[:, :2] = 50 + 30 * torch.rand(2, 6, 6)
    return m, x


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('name', ['nonlocal', 'pam', 'cc'])
def test_large_energies_are_computed_in_float32_under_autocast(name, dtype):
    m, x = _large_energy_case(name)
    with torch.no_grad():
        ref = m(x)
        with torch.autocast('cpu', dtype=dtype):
            y = m(x)
    assert torch.isfinite(y).all()
    rel = float((y.float() - ref).norm() / (ref - x).norm())
    # bfloat16 rounds query and key (autocast's 1x1 convs) to 8 bits, which can
    # move an attention peak between near-equal keys; float16 keeps 11.
    limit = 5e-2 if dtype == torch.float16 else 0.15
    assert rel < limit, f'{name} under {dtype}: relative error {rel:.3g} of the attention term'


@pytest.mark.slow
def test_blocks_build_as_plugins_outside_mmdet_scope():
    """mmcv's build_plugin_layer with no default scope (a plain script) and
    under mmpretrain's scope (its ResNet's plugins) finds mmattn's blocks."""
    import subprocess
    import sys
    code = ('import warnings; warnings.filterwarnings("ignore")\n'
            'import mmattn\n'
            'from mmcv.cnn import build_plugin_layer\n'
            'from mmengine.registry import DefaultScope\n'
            'name, layer = build_plugin_layer(dict(type="CBAM"), in_channels=64)\n'
            'assert type(layer).__name__ == "CBAM", layer\n'
            'print("no scope:", type(layer).__module__)\n'
            'try:\n'
            '    import mmpretrain.models  # noqa\n'
            'except ImportError:\n'
            '    raise SystemExit(0)\n'
            'from mmpretrain.registry import MODELS\n'
            'with DefaultScope.overwrite_default_scope("mmpretrain"):\n'
            '    for cfg in (dict(type="SqueezeExcitation"), dict(type="CoordinateAttention")):\n'
            '        name, layer = build_plugin_layer(cfg, in_channels=64)\n'
            '        assert type(layer).__name__ == cfg["type"], layer\n'
            '    assert MODELS.get("CBAM").__module__ == "mmattn.models.layers.cbam"\n'
            'print("mmpretrain scope: ok")\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'no scope: mmattn.models.layers.cbam' in proc.stdout
    if 'mmpretrain scope' not in proc.stdout:
        pytest.importorskip('mmpretrain', reason='mmpretrain not installed')


def test_block_names_shadow_no_name_of_any_codebase():
    """Blocks live in the root registry; no codebase scope may hold the same
    names (theirs would then win in that scope)."""
    from mmdet.registry import MODELS as MMDET
    from mmengine.registry import MODELS as ROOT
    scopes = [MMDET]
    try:
        from mmpretrain.registry import MODELS as MMPRETRAIN
        from mmpretrain.utils import register_all_modules

        import mmattn.pretrain  # noqa: F401
        register_all_modules(init_default_scope=False)
        scopes.append(MMPRETRAIN)
    except ImportError:
        pass
    for cls in ATTENTION_BLOCKS.values():
        assert ROOT.get(cls.__name__) is cls
        for registry in scopes:
            assert cls.__name__ not in registry.module_dict, (registry.scope, cls.__name__)
            assert registry.get(cls.__name__) is cls


@pytest.mark.parametrize('block', ['CBAM', 'CoordinateAttention'])
def test_plugin_norms_train_under_norm_eval_but_not_in_frozen_stages(block):
    """The rule of configs/attention/README.md: norm_eval keeps the pretrained
    backbone's BN statistics frozen, a plug-in block's BN (no statistics to
    keep) trains; in frozen stages and in eval() the block's BN is frozen too."""
    from mmdet.models import ResNet
    backbone = ResNet(depth=50, frozen_stages=1, norm_eval=True, plugins=[dict(
        cfg=dict(type=block), stages=(True, True, False, False), position='after_conv3')])
    backbone.train()
    plugin_norms = {n: m for n, m in backbone.named_modules() if isinstance(m, nn.BatchNorm2d)
                    and any(p in n for p in ('cbam', 'coordinate_attention'))}
    assert plugin_norms
    before = {n: m.running_var.clone() for n, m in plugin_norms.items()}
    own_before = backbone.layer2[0].bn1.running_var.clone()
    backbone(torch.randn(2, 3, 64, 64))
    for name, m in plugin_norms.items():
        changed = not torch.equal(m.running_var, before[name])
        assert changed == name.startswith('layer2'), name  # layer1 is frozen
    assert torch.equal(backbone.layer2[0].bn1.running_var, own_before)  # norm_eval holds
    backbone.eval()
    frozen = {n: m.running_var.clone() for n, m in plugin_norms.items()}
    backbone(torch.randn(2, 3, 64, 64))
    assert all(torch.equal(m.running_var, frozen[n]) for n, m in plugin_norms.items())
    # opting out: a backbone pretrained with its blocks keeps their statistics too
    pretrained_with_blocks = ResNet(depth=50, norm_eval=True, plugins=[dict(
        cfg=dict(type=block, norms_follow_block=False), stages=(False, True, False, False),
        position='after_conv3')])
    pretrained_with_blocks.train()  # (mmdet's ResNet.train returns None)
    norms = [m for n, m in pretrained_with_blocks.named_modules()
             if isinstance(m, nn.BatchNorm2d) and any(p in n for p in ('cbam', 'coordinate'))]
    stats = [m.running_var.clone() for m in norms]
    pretrained_with_blocks(torch.randn(2, 3, 64, 64))
    assert all(torch.equal(m.running_var, s) for m, s in zip(norms, stats))


def test_block_file_class_and_key_agree():
    """A block's file is named after its factory key, or its docstring says
    why not; the factory table is what registration produced."""
    import sys

    from mmengine.registry import MODELS
    for key, cls in ATTENTION_BLOCKS.items():
        module = sys.modules[cls.__module__]
        stem = module.__name__.rsplit('.', 1)[1]
        assert key == stem or f"``'{key}'``" in module.__doc__, (key, module.__name__)
        assert MODELS.get(cls.__name__) is cls
