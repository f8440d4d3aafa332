"""The default (channels-last) computation against the plain NCHW one and a
float64 reference: outputs within 1e-5 in float32, gradients as close to
float64 as the plain path's, outputs ordinary contiguous NCHW tensors."""
import pytest
import torch

from mmattn.models.backbones import EPSANet, VoVNet
from _helpers import gradient_errors_vs_float64

CASES = [(EPSANet, dict(depth=50)), (VoVNet, dict(arch='V-39-eSE')),
         (VoVNet, dict(arch='V-19-slim-dw-eSE'))]
IDS = ['epsanet50', 'vovnet39', 'vovnet19-slim-dw']


def _models(cls, kwargs):
    torch.manual_seed(0)
    plain = cls(channels_last=False, **kwargs)
    fast = cls(channels_last=True, **kwargs)
    ref = cls(channels_last=False, **kwargs).double()
    fast.load_state_dict(plain.state_dict())
    ref.load_state_dict(plain.state_dict())
    return plain, fast, ref


@pytest.mark.parametrize('cls,kwargs', CASES, ids=IDS)
def test_outputs_equal_plain_formulation(cls, kwargs):
    plain, fast, _ = _models(cls, kwargs)
    x = torch.randn(2, 3, 97, 83)
    plain.eval()
    fast.eval()
    with torch.no_grad():
        for a, b in zip(plain(x), fast(x)):
            assert b.is_contiguous()
            assert (a - b).abs().max() <= 1e-5


@pytest.mark.slow
@pytest.mark.parametrize('cls,kwargs', CASES, ids=IDS)
def test_gradients_as_accurate_as_plain_path(cls, kwargs):
    """BN held fixed (eval), so the comparison measures the kernels' precision,
    not the conditioning of batch-2 batch statistics."""
    plain, fast, ref = _models(cls, kwargs)
    x = torch.randn(2, 3, 97, 83)
    err_plain, err_fast = gradient_errors_vs_float64([plain, fast], ref, x, train=False)
    assert err_fast <= max(3 * err_plain, 1e-6)


@pytest.mark.slow
@pytest.mark.parametrize('cls,kwargs', CASES, ids=IDS)
def test_training_mode_forward_stays_close_to_float64(cls, kwargs):
    plain, fast, ref = _models(cls, kwargs)
    x = torch.randn(2, 3, 97, 83)
    outs = [m.train()(inp) for m, inp in ((plain, x), (fast, x), (ref, x.double()))]
    for a, b, c in zip(*outs):
        err_plain = (a.double() - c).abs().max()
        err_fast = (b.double() - c).abs().max()
        assert err_fast <= 10 * err_plain + 1e-6


def test_weights_stay_channels_last_through_state_dict_round_trip():
    model = VoVNet('V-19-slim-eSE', channels_last=True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    conv = getattr(model.stage2.OSA2_1.layers[0], 'OSA2_1_0/conv').weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


@pytest.mark.slow
@pytest.mark.parametrize('cls,kwargs', CASES, ids=IDS)
def test_auto_layout_is_nchw_for_cpu_training_steps_only(cls, kwargs):
    """``channels_last='auto'``: oneDNN's NHWC backward of dense 3x3 convs is
    the slow one on CPUs, so only a CPU training step computes in NCHW; the
    result is the same function either way."""
    torch.manual_seed(0)
    model = cls(channels_last='auto', **kwargs)
    plain = cls(channels_last=False, **kwargs)
    plain.load_state_dict(model.state_dict())
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.weight.is_contiguous()  # weights stay NCHW
    seen = []
    first_conv.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    x = torch.randn(2, 3, 65, 47)
    model.train()
    plain.train()
    for a, b in zip(model(x), plain(x)):
        assert (a - b).abs().max() <= 1e-5
    with torch.no_grad():
        model(x)
    model.eval()
    plain.eval()
    with torch.no_grad():
        for a, b in zip(model(x), plain(x)):
            assert b.is_contiguous() and (a - b).abs().max() <= 1e-5
    assert seen == [False, True, True]


@pytest.mark.parametrize('cls', [EPSANet, VoVNet])
def test_channels_last_setting_is_checked(cls):
    with pytest.raises(ValueError, match="channels_last='nhwc' is invalid; expected one of "
                                         r"\(True, False, 'auto'\)"):
        cls(channels_last='nhwc')
