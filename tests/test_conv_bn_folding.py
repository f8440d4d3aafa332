"""Conv-BN folding on the fly (models/utils/conv_bn_folding.py): the folded
convolution equals conv + BN, the backbones fold exactly the pairs they should
and only for inference, and the cached folded weights follow every change of
their sources."""
import copy
import pickle

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmattn.models.backbones.epsanet import EPSANet
from mmattn.models.backbones.vovnet import VoVNet
from mmattn.models.utils.conv_bn_folding import FoldedConvBNCache, conv_bn, folding_caches
from _helpers import randomise_bn


@pytest.mark.parametrize('conv_kwargs, norm_kwargs', [
    (dict(bias=False), dict()),
    (dict(bias=True, groups=2, stride=2), dict(affine=False)),
    (dict(bias=True, dilation=2, padding=2), dict(eps=1e-3)),
])
def test_folded_convolution_equals_conv_then_bn(conv_kwargs, norm_kwargs):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, **{'padding': 1, **conv_kwargs}).double()
    norm = nn.BatchNorm2d(6, **norm_kwargs).double().eval()
    norm.running_mean.normal_()
    norm.running_var.uniform_(0.5, 2)
    if norm.affine:
        nn.init.normal_(norm.weight)
        nn.init.normal_(norm.bias)
    x = torch.randn(2, 4, 9, 7, dtype=torch.float64)
    with torch.no_grad():
        expected = norm(conv(x))
        got = conv_bn(conv, norm, x, FoldedConvBNCache(), fold=True)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def _count_batch_norm_calls(monkeypatch):
    calls = []
    plain = F.batch_norm
    monkeypatch.setattr(F, 'batch_norm', lambda *a, **k: calls.append(1) or plain(*a, **k))
    return calls


BACKBONES = {
    'epsanet50': lambda: EPSANet(depth=50),
    'epsanet50-nchw': lambda: EPSANet(depth=50, channels_last=False),
    'vovnet39': lambda: VoVNet('V-39-eSE'),
    'vovnet39-nhwc': lambda: VoVNet('V-39-eSE', channels_last=True),
    'vovnet19-slim-dw': lambda: VoVNet('V-19-slim-dw-eSE'),
}


@pytest.mark.parametrize('backbone', [EPSANet, VoVNet])
def test_fold_conv_bn_false_runs_every_norm_and_is_checked(backbone, monkeypatch):
    model = backbone(fold_conv_bn=False)
    model.eval()
    calls = _count_batch_norm_calls(monkeypatch)
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert len(calls) == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    with pytest.raises(ValueError, match=r"fold_conv_bn='yes' is invalid; expected one of "
                                         r"\(True, False\)"):
        backbone(fold_conv_bn='yes')


@pytest.mark.parametrize('name', list(BACKBONES))
def test_backbone_inference_folds_its_conv_bn_pairs(name, monkeypatch):
    """Inference (autograd off, eval) gives the plain forward's features
    within 1e-5 with every conv-BN pair of the blocks folded: no BN runs,
    except EPSANet's BN after each PSA (not a convolution) and its stem's
    (mmdet's ResNet.forward runs the stem). With autograd on, every BN runs."""
    torch.manual_seed(0)
    model = BACKBONES[name]()
    randomise_bn(model)
    model.eval()
    x = torch.randn(2, 3, 96, 128)
    num_norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    calls = _count_batch_norm_calls(monkeypatch)
    expected = [t.detach() for t in model(x)]
    assert len(calls) == num_norms
    calls.clear()
    with torch.inference_mode():
        got = model(x)
    assert len(calls) == (16 + 1 if name.startswith('epsanet') else 0)
    for g, e in zip(got, expected):
        assert g.is_contiguous()
        assert float((g - e).abs().max() / e.abs().max()) < 1e-5


def test_folded_weights_follow_their_sources():
    """The cache refolds after in-place updates and after load_state_dict."""
    torch.manual_seed(0)
    model, other = VoVNet('V-19-slim-dw-eSE'), VoVNet('V-19-slim-dw-eSE')
    randomise_bn(model)
    randomise_bn(other)
    model.eval()
    x = torch.randn(1, 3, 64, 64)

    def plain():
        with torch.enable_grad():
            return [t.detach() for t in model(x)]

    def check():
        with torch.no_grad():
            got = model(x)
        for g, e in zip(got, plain()):
            torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)

    check()
    conv, norm = model.stem[0], model.stem[1]
    with torch.no_grad():
        norm.running_var.mul_(4)
        conv.weight.mul_(-1)
    check()
    model.load_state_dict(other.state_dict())
    check()


def test_no_folding_with_batch_statistics_or_hooks():
    torch.manual_seed(0)
    # One layout, float64: the two paths may sum in different orders.
    model = VoVNet('V-19-slim-dw-eSE', norm_eval=False, channels_last=False).double()
    randomise_bn(model)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    # Training mode under no_grad: BNs use the batch's statistics, nothing folds.
    a, b = copy.deepcopy(model).train(), copy.deepcopy(model).train()
    with torch.no_grad():
        got = a(x)
    expected = b(x)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e.detach())
    # A hooked norm runs as a module (its hook fires), its neighbours still fold.
    model.eval()
    seen = []
    model.stem[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with torch.no_grad():
        model(x)
    assert seen == [torch.Size([2, 64, 32, 32])]


def test_folded_weights_stay_out_of_copies_checkpoints_and_training():
    torch.manual_seed(0)
    model = EPSANet(depth=50)
    model.eval()
    keys = list(model.state_dict())
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    caches = folding_caches(model)
    assert len(caches) == 16 and all(c.entries for c in caches)
    assert list(model.state_dict()) == keys
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert [(c.enabled, c.entries) for c in folding_caches(clone)] == [(True, {})] * 16
    model.train()
    assert not any(c.entries for c in caches)
