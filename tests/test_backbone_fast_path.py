"""The default (channels-last) computation against the plain NCHW one and a
float64 reference: outputs within 1e-5 in float32, gradients as close to
float64 as the plain path's, outputs ordinary contiguous NCHW tensors."""
import pytest
import torch
from _helpers import gradient_errors_vs_float64

from mmattn.models.backbones import EPSANet, VoVNet

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
    plain.eval(); fast.eval()
    with torch.no_grad():
        for a, b in zip(plain(x), fast(x)):
            assert b.is_contiguous()
            assert (a - b).abs().max() <= 1e-5


@pytest.mark.parametrize('cls,kwargs', CASES, ids=IDS)
def test_gradients_as_accurate_as_plain_path(cls, kwargs):
    """BN held fixed (eval), so the comparison measures the kernels' precision,
    not the conditioning of batch-2 batch statistics."""
    plain, fast, ref = _models(cls, kwargs)
    x = torch.randn(2, 3, 97, 83)
    err_plain, err_fast = gradient_errors_vs_float64([plain, fast], ref, x, train=False)
    assert err_fast <= max(3 * err_plain, 1e-6)


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
    model = VoVNet('V-19-slim-eSE')
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    conv = getattr(model.stage2.OSA2_1.layers[0], 'OSA2_1_0/conv').weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
