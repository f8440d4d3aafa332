"""EPSANet: official numerics and weights, and mmdet's backbone contract."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.backbones.resnet import Bottleneck
from torch.nn.modules.batchnorm import _BatchNorm

from mmattn.models.backbones import EPSANet
from mmattn.models.backbones.epsanet import EPSABottleneck
from _helpers import randomise_bn


# --- an independent re-implementation of the official model (torchvision names) ---
class RefPSA(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        kernels, groups = (3, 5, 7, 9), (1, 4, 8, 16)
        for i, (k, g) in enumerate(zip(kernels, groups), 1):
            setattr(self, f'conv_{i}', nn.Conv2d(inplanes, planes //
                    4, k, stride, k // 2, groups=g, bias=False))
        self.se = nn.Module()
        self.se.fc1 = nn.Conv2d(planes // 4, planes // 64, 1)
        self.se.fc2 = nn.Conv2d(planes // 64, planes // 4, 1)

    def forward(self, x):
        xs = [getattr(self, f'conv_{i}')(x) for i in range(1, 5)]
        ws = [torch.sigmoid(self.se.fc2(F.relu(self.se.fc1(F.adaptive_avg_pool2d(t, 1)))))
              for t in xs]
        att = torch.softmax(torch.stack(ws, 1), dim=1)
        out = None
        for i in range(4):
            part = xs[i] * att[:, i]
            out = part if out is None else torch.cat((part, out), 1)
        return out


class RefBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = RefPSA(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class RefEPSANet(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.inplanes = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes * 4))
            blocks = [RefBlock(self.inplanes, planes, stride, down)]
            self.inplanes = planes * 4
            blocks += [RefBlock(self.inplanes, planes) for _ in range(1, n)]
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.fc = nn.Linear(2048, 1000)

    def stages(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        outs = []
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
            outs.append(x)
        return outs


def _official_checkpoint(tmp_path, ref):
    path = tmp_path / 'epsanet50_official.pth.tar'
    state = {f'module.{k}': v for k, v in ref.state_dict().items()}  # DataParallel names
    torch.save({'epoch': 120, 'arch': 'epsanet50', 'state_dict': state,
                'best_acc1': torch.tensor(77.49), 'optimizer': {}}, path)
    return str(path)


def test_official_checkpoint_loads_unchanged_and_stage_outputs_match(tmp_path):
    ref = RefEPSANet([3, 4, 6, 3])
    randomise_bn(ref)
    ref.eval()
    ckpt = _official_checkpoint(tmp_path, ref)
    model = EPSANet(depth=50, init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    model.init_weights()
    model.eval()
    ours = {k: v for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    theirs = {k: v for k, v in ref.state_dict().items()
              if not k.endswith('num_batches_tracked') and not k.startswith('fc.')}
    assert set(ours) == set(theirs)  # identical names, nothing missing, nothing extra
    x = torch.randn(2, 3, 97, 75)
    with torch.no_grad():
        for a, b in zip(model(x), ref.stages(x)):
            assert (a - b).abs().max() <= 1e-5


def test_one_block_matches_reference_with_copied_weights():
    model = EPSANet(depth=50).eval()
    block = model.layer2[0]  # stride 2, with downsample
    ref = RefBlock(256, 128, stride=2, downsample=nn.Sequential(
        nn.Conv2d(256, 512, 1, 2, bias=False), nn.BatchNorm2d(512))).eval()
    randomise_bn(ref)
    block.load_state_dict(ref.state_dict())
    x = torch.randn(2, 256, 15, 13)
    with torch.no_grad():
        torch.testing.assert_close(block(x), ref(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize('depth,expected', [(50, 22.56), (101, 38.90)])
def test_parameter_count_equals_official(depth, expected):
    model = EPSANet(depth=depth)
    params = sum(p.numel() for p in model.parameters()) + 2048 * 1000 + 1000  # + classifier
    assert round(params / 1e6, 2) == expected


def test_output_shapes_and_out_indices():
    model = EPSANet(depth=50, out_indices=(1, 3)).eval()
    outs = model(torch.randn(1, 3, 64, 96))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 512, 8, 12), (1, 2048, 2, 3)]


def test_frozen_stages_stay_frozen_after_train():
    model = EPSANet(depth=50, frozen_stages=2)
    model.train()
    for module in (model.conv1, model.norm1, model.layer1, model.layer2):
        assert not module.training or isinstance(module, nn.Conv2d)
        assert all(not p.requires_grad for p in module.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert not model.layer2[0].conv2.se.training and not model.layer2[0].bn2.training


def test_norm_eval_keeps_bn_in_eval():
    model = EPSANet(depth=50, norm_eval=True)
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_with_cp_gives_equal_gradients():
    torch.manual_seed(0)
    a = EPSANet(depth=50, with_cp=False, out_indices=(3,))
    b = EPSANet(depth=50, with_cp=True, out_indices=(3,))
    b.load_state_dict(a.state_dict())
    a.eval()
    b.eval()
    x = torch.randn(1, 3, 64, 64)
    a(x.clone().requires_grad_())[0].sum().backward()
    b(x.clone().requires_grad_())[0].sum().backward()
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_zero_init_residual_zeroes_last_norm():
    model = EPSANet(depth=50, zero_init_residual=True)
    model.init_weights()
    assert (model.layer1[0].norm3.weight == 0).all()


@pytest.mark.parametrize('norm_cfg', [dict(type='BN'), dict(type='GN', num_groups=32),
                                      dict(type='SyncBN')])
def test_norm_cfg(norm_cfg):
    model = EPSANet(depth=50, norm_cfg=norm_cfg)
    assert type(model.layer1[0].norm2).__name__ == {
        'BN': 'BatchNorm2d', 'GN': 'GroupNorm', 'SyncBN': 'SyncBatchNorm'}[norm_cfg['type']]


def test_plugins_add_our_blocks():
    model = EPSANet(depth=50, plugins=[dict(cfg=dict(type='CBAM'),
                                            stages=(False, True, True, True),
                                            position='after_conv3')])
    names = [n for n, _ in model.named_modules() if n.endswith('cbam')]
    assert 'layer2.0.cbam' in names and not any(n.startswith('layer1') for n in names)
    model.eval()
    assert model(torch.randn(1, 3, 64, 64))[3].shape == (1, 2048, 2, 2)


@pytest.mark.parametrize('kwargs,message', [
    (dict(depth=34), 'EPSANet: depth=34 is invalid; expected one of (50, 101)'),
    (dict(out_indices=(4,)), 'out_indices=(4,) is invalid'),
    (dict(frozen_stages=5), 'frozen_stages=5 is invalid'),
    (dict(dcn=dict(type='DCNv2')), 'dcn='),
    (dict(dilations=(1, 1, 2, 2)), 'dilations=(1, 1, 2, 2) is invalid'),
    (dict(psa_groups=(1, 4, 8, 32)), 'must be divisible by groups=32'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        EPSANet(**kwargs)


def test_missing_pretrained_file_is_a_clear_error_not_a_download():
    model = EPSANet(depth=50, init_cfg=dict(type='Pretrained', checkpoint='checkpoints/nope.pth'))
    from mmattn.utils.errors import CheckpointError
    with pytest.raises(CheckpointError, match=r"'checkpoints/nope.pth' \(init_cfg.checkpoint\) "
                                              r"does not exist.*no official EPSANet weights.*"
                                              r"--cfg-options"):
        model.init_weights()


def test_block_forward_is_mmdets_bottleneck_forward_plugins_included():
    """EPSABottleneck writes mmdet's Bottleneck.forward out (to checkpoint it
    its own way): the two give the same output, plugins at all three places
    and a downsample included, and ``with_cp`` keeps mmdet's meaning."""
    torch.manual_seed(0)
    plugins = [dict(cfg=dict(type='ContextBlock', ratio=1 / 4), position='after_conv1'),
               dict(cfg=dict(type='SqueezeExcitation'), position='after_conv2'),
               dict(cfg=dict(type='CBAM'), position='after_conv3')]
    model = EPSANet(depth=50, norm_eval=False, plugins=[dict(p, stages=(True,) * 4)
                                                        for p in plugins], with_cp=True)
    randomise_bn(model)
    model.eval()
    block = model.layer2[0]
    assert block.with_plugins and block.downsample is not None and block.with_cp
    x = torch.randn(2, 256, 16, 16, dtype=torch.float64)
    block.double()
    with torch.no_grad():
        torch.testing.assert_close(block(x), Bottleneck.forward(block, x), rtol=0, atol=0)
    assert all(b.with_cp for b in model.modules() if isinstance(b, EPSABottleneck))


def test_with_cp_updates_bn_statistics_once_per_step():
    """mmdet's checkpointed bottleneck recomputes in train mode and updates the
    BN running statistics twice; EPSANet's must end the step as without it."""
    torch.manual_seed(0)
    plain = EPSANet(depth=50, norm_eval=False)
    checkpointed = EPSANet(depth=50, norm_eval=False, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    outputs = []
    for model in (plain, checkpointed):
        model.train()
        out = model(x)
        sum(o.sum() for o in out).backward()
        outputs.append(out)
    for a, b in zip(*outputs):
        torch.testing.assert_close(a, b)
    plain_buffers = dict(plain.named_buffers())
    for name, value in checkpointed.named_buffers():
        assert torch.equal(value, plain_buffers[name]), name
    grads = {n: p.grad for n, p in plain.named_parameters()}
    for name, p in checkpointed.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], rtol=1e-4, atol=1e-6)
