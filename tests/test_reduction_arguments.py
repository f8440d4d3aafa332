"""One naming convention for every block's bottleneck width: timm's
``rd_ratio``/``rd_channels``/``rd_divisor`` (EPSANet: ``psa_rd_ratio``)."""
import pytest
import torch.nn as nn

from mmattn.models.layers import build_attention

C = 64


def _hidden_width(block: nn.Module) -> int:
    return block.fc1.out_channels


@pytest.mark.parametrize('r', [2, 3, 5, 7, 16])
def test_rd_ratio_is_the_official_floor_division(r):
    """``rd_ratio=1/r`` (a float, inexact for r=3, 5, 7) gives exactly
    ``C // r`` hidden channels for every C."""
    for channels in range(r, 300):
        assert _hidden_width(build_attention('se', channels, rd_ratio=1 / r)) == channels // r


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


def test_every_width_argument_has_one_name():
    """No block takes the earlier spellings (nothing was released with them)."""
    for name, old in [('se', 'reduction'), ('cbam', 'reduction'), ('gc', 'ratio'),
                      ('mbconv_se', 'se_ratio')]:
        with pytest.raises(TypeError, match=f"unexpected keyword argument '{old}'"):
            build_attention(name, C, **{old: 4})
    from mmattn.models.backbones import EPSANet
    with pytest.raises(TypeError, match="unexpected keyword argument 'psa_reduction'"):
        EPSANet(depth=50, psa_reduction=8)
    assert EPSANet(depth=50, psa_rd_ratio=1 / 8).layer1[0].conv2.se.fc1.out_channels == \
        (64 // 4) // 8
