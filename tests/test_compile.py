"""``torch.compile``: every block and both backbones trace into one graph (no
graph breaks), and compiled training computes what eager training computes,
``with_cp`` included (outputs, gradients, BatchNorm statistics)."""
import pytest
import torch
import torch._dynamo as dynamo

from mmattn.models.backbones import EPSANet, VoVNet
from mmattn.models.layers import build_attention
from mmattn.models.layers.factory import ATTENTION_BLOCKS

CONV_REPLACING = {"psa": dict(out_channels=64), "sk": dict(out_channels=64)}


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    dynamo.reset()
    yield
    dynamo.reset()


def _breaks(module: torch.nn.Module, x: torch.Tensor) -> list:
    explanation = dynamo.explain(module)(x)
    return [str(b.reason) for b in explanation.break_reasons]


@pytest.mark.parametrize('name', sorted(ATTENTION_BLOCKS))
@pytest.mark.parametrize('training', [True, False], ids=['train', 'eval'])
def test_blocks_trace_without_graph_breaks(name, training):
    block = build_attention(name, 64, **CONV_REPLACING.get(name, {})).train(training)
    assert _breaks(block, torch.randn(2, 64, 9, 7)) == []


@pytest.mark.slow
@pytest.mark.parametrize('model', [
    lambda: EPSANet(depth=50, norm_eval=False),
    lambda: EPSANet(depth=50, norm_eval=False, with_cp=True),
    lambda: VoVNet('V-19-slim-dw-eSE', norm_eval=False, with_cp=True),
    lambda: VoVNet('V-39-eSE', channels_last=True)], ids=['epsanet50', 'epsanet50-cp',
                                                          'vovnet19-slim-dw-cp', 'vovnet39-nhwc'])
@pytest.mark.parametrize('training', [True, False], ids=['train', 'eval'])
def test_backbones_trace_without_graph_breaks(model, training):
    assert _breaks(model().train(training), torch.randn(1, 3, 64, 48)) == []


def _norm_stats(model):
    return {k: v.clone() for k, v in model.state_dict().items()
            if 'running' in k or 'num_batches_tracked' in k}


@pytest.mark.slow
@pytest.mark.parametrize('with_cp', [False, True], ids=['plain', 'with_cp'])
def test_compiled_training_step_matches_eager(with_cp):
    """AOTAutograd (``backend='aot_eager'``: the functionalisation and
    recomputation of inductor, without its C++ code generation) against the
    same model in eager mode: same outputs and gradients; and the running
    statistics are those of eager training *without* checkpointing, so the
    recomputation updates no statistics under compile either."""
    torch.manual_seed(0)
    plain = VoVNet('V-19-slim-dw-eSE', norm_eval=False)
    eager = VoVNet('V-19-slim-dw-eSE', norm_eval=False, with_cp=with_cp)
    model = VoVNet('V-19-slim-dw-eSE', norm_eval=False, with_cp=with_cp)
    eager.load_state_dict(plain.state_dict())
    model.load_state_dict(plain.state_dict())
    compiled = torch.compile(model, backend='aot_eager')
    x = torch.randn(2, 3, 64, 48)
    outputs = []
    for net in (plain, eager, compiled):
        net.train()
        out = net(x)
        sum(o.square().mean() for o in out).backward()
        outputs.append(out)
    for a, b in zip(outputs[1], outputs[2]):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    for (name, a), b in zip(eager.named_parameters(), model.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-7, msg=name)
    stats, compiled_stats = _norm_stats(plain), _norm_stats(model)
    assert stats.keys() == compiled_stats.keys()
    for key in stats:
        torch.testing.assert_close(compiled_stats[key], stats[key], rtol=1e-5, atol=1e-6, msg=key)
    assert int(model.state_dict()['stem.stem_1/norm.num_batches_tracked']) == 1
