"""One naming convention for every block's bottleneck width (timm's
``rd_ratio``/``rd_channels``/``rd_divisor``), with the old names (``reduction``,
``ratio``, ``se_ratio``, EPSANet's ``psa_reduction``) kept as deprecated aliases
that build the very same modules."""
import warnings

import pytest
import torch.nn as nn

from mmattn.models.layers import build_attention

C = 64

# name, extra constructor arguments, old spelling, new spelling
ALIASES = [
    ('se', {}, dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('cbam', {}, dict(reduction=8), dict(rd_ratio=1 / 8)),
    ('scse', {}, dict(reduction=16), dict(rd_ratio=1 / 16)),
    ('coord', {}, dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('sk', dict(min_channels=8), dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('psa', dict(out_channels=C), dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('nonlocal', {}, dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('cc', {}, dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('pam', {}, dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('danet', {}, dict(reduction=4), dict(rd_ratio=1 / 4)),
    ('gc', {}, dict(ratio=1 / 8), dict(rd_ratio=1 / 8)),
    ('mbconv_se', {}, dict(se_ratio=0.5), dict(rd_ratio=0.5)),
]


def _shapes(module: nn.Module) -> dict:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize('name,extra,old,new', ALIASES, ids=[a[0] for a in ALIASES])
def test_old_names_build_the_same_block_and_warn(name, extra, old, new):
    with pytest.warns(FutureWarning) as record:
        legacy = build_attention(name, C, **extra, **old)
    (key, value), = old.items()
    message = str(record[0].message)
    assert f'{key}={value!r} is deprecated; use rd_ratio=' in message
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the new spelling warns about nothing
        current = build_attention(name, C, **extra, **new)
    assert _shapes(legacy) == _shapes(current)
    default = build_attention(name, C, **extra)
    assert _shapes(default) != _shapes(current), 'the test ratio must differ from the default'


@pytest.mark.parametrize('name,extra,old,new', ALIASES, ids=[a[0] for a in ALIASES])
def test_old_and_new_names_together_are_refused(name, extra, old, new):
    with pytest.raises(ValueError, match='give only rd_ratio'):
        build_attention(name, C, **extra, **old, rd_ratio=1 / 3)  # 1/3: no block's default


def _hidden_width(block: nn.Module) -> int:
    return block.fc1.out_channels


@pytest.mark.parametrize('r', [2, 3, 5, 7, 16])
def test_rd_ratio_is_the_official_floor_division(r):
    """``rd_ratio=1/r`` (a float, inexact for r=3, 5, 7) and the deprecated
    ``reduction=r`` give exactly ``C // r`` hidden channels for every C."""
    for channels in range(r, 300):
        assert _hidden_width(build_attention('se', channels, rd_ratio=1 / r)) == channels // r
        with pytest.warns(FutureWarning):
            legacy = build_attention('se', channels, reduction=r)
        assert _hidden_width(legacy) == channels // r


def test_rd_channels_overrides_and_rd_divisor_rounds_to_the_nearest_multiple():
    assert _hidden_width(build_attention('se', C, rd_channels=5)) == 5
    assert _hidden_width(build_attention('se', C, rd_ratio=1 / 2, rd_channels=5)) == 5
    # timm's make_divisible(C * rd_ratio, 8): nearest multiple of 8, at least 8
    for channels, expected in [(64, 8), (100, 8), (200, 16), (184, 8), (520, 32), (392, 24)]:
        assert _hidden_width(build_attention('se', channels, rd_divisor=8)) == expected
    # the minimum width of CoordAtt (8) and SK (32) still applies
    assert build_attention('coord', C).conv1.out_channels == 8
    assert build_attention('coord', C, rd_channels=4).conv1.out_channels == 8
    assert build_attention('sk', C).fc_reduce.conv.out_channels == 32


def test_plugin_config_with_the_old_name_still_builds():
    from mmcv.cnn import build_plugin_layer
    with pytest.warns(FutureWarning, match='CBAM: reduction=8 is deprecated; use rd_ratio=1 / 8'):
        _, layer = build_plugin_layer(dict(type='CBAM', reduction=8), postfix='_x', in_channels=C)
    assert layer.channel_gate.mlp[0].out_features == C // 8


def test_epsanet_psa_reduction_is_a_deprecated_name_for_psa_rd_ratio():
    from mmattn.models.backbones import EPSANet
    with pytest.warns(FutureWarning, match='EPSANet: psa_reduction=8 is deprecated; use psa_rd_ratio=1 / 8'):
        legacy = EPSANet(depth=50, psa_reduction=8)
    current = EPSANet(depth=50, psa_rd_ratio=1 / 8)
    assert _shapes(legacy) == _shapes(current)
    assert legacy.layer1[0].conv2.se.fc1.out_channels == (64 // 4) // 8
    with pytest.raises(ValueError, match='give only psa_rd_ratio'):
        EPSANet(depth=50, psa_reduction=8, psa_rd_ratio=1 / 4)
