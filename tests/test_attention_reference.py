"""Every block against an independent float64 reference written from its
paper's equations (and official-code quirks), weights copied from the block."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmattn.models import build_attention

TOL = dict(rtol=1e-6, atol=1e-6)


def _prep(block, *shape):
    block = block.double().eval()
    # Non-trivial values for zero-initialised parameters, so the attention path counts.
    for name, p in block.named_parameters():
        if name.endswith('gamma'):
            p.data.fill_(0.7)
        elif (p == 0).all():
            p.data.normal_(0, 0.1)
    for name, b in block.named_buffers():
        if 'running_mean' in name:
            b.data.normal_(0, 0.1)
        elif 'running_var' in name:
            b.data.uniform_(0.5, 1.5)
    return block, torch.randn(*shape, dtype=torch.float64)


def _fc(x_vec, conv):
    """A 1x1 conv applied to a (N, C) vector, written as a matrix product."""
    w = conv.weight.reshape(conv.weight.shape[0], -1)
    return x_vec @ w.T + (conv.bias if conv.bias is not None else 0)


def _bn(x, bn):
    shape = (1, -1) + (1,) * (x.dim() - 2)
    std = torch.sqrt(bn.running_var.reshape(shape) + bn.eps)
    return ((x - bn.running_mean.reshape(shape)) / std
            * bn.weight.reshape(shape) + bn.bias.reshape(shape))


def test_se():
    m, x = _prep(build_attention('se', 32, rd_ratio=1 / 4), 2, 32, 5, 7)
    z = x.mean(dim=(2, 3))                                   # squeeze, eq. (2)
    s = torch.sigmoid(_fc(torch.relu(_fc(z, m.fc1)), m.fc2))  # excitation, eq. (3)
    torch.testing.assert_close(m(x), x * s[:, :, None, None], **TOL)


def test_ese():
    m, x = _prep(build_attention('ese', 16), 2, 16, 3, 4)
    z = _fc(x.mean(dim=(2, 3)), m.fc)
    hsig = torch.clamp(z + 3, 0, 6) / 6
    torch.testing.assert_close(m(x), x * hsig[:, :, None, None], **TOL)


@pytest.mark.parametrize('memory_format', [torch.contiguous_format, torch.channels_last])
def test_psa_matches_official_formulation(memory_format):
    m, x = _prep(build_attention('psa', 64, out_channels=64, stride=2), 2, 64, 9, 7)
    m.to(memory_format=memory_format)
    x = x.contiguous(memory_format=memory_format)
    branches = [F.conv2d(x, conv.weight, stride=2, padding=k // 2, groups=g)
                for conv, k, g in zip(m.branches, m.kernels, m.groups)]
    se = m.se
    weights = [torch.sigmoid(_fc(torch.relu(_fc(b.mean(dim=(2, 3)), se.fc1)), se.fc2))
               for b in branches]
    att = torch.softmax(torch.stack(weights, dim=1), dim=1)  # (N, 4, C'): across branches
    out = [b * att[:, i, :, None, None] for i, b in enumerate(branches)]
    expected = torch.cat(out[::-1], dim=1)                   # official reversed order
    result = m(x)
    torch.testing.assert_close(result, expected, **TOL)
    # The layout is kept (the 9x9/g16 branch runs as depthwise conv + group sum,
    # whose sum must stay NHWC, or the concatenation and the next conv copy).
    assert result.is_contiguous(memory_format=memory_format)


def test_cbam():
    m, x = _prep(build_attention('cbam', 32, rd_ratio=1 / 8), 2, 32, 6, 5)
    mlp = m.channel_gate.mlp

    def shared(v):
        hidden = torch.relu(F.linear(v, mlp[0].weight, mlp[0].bias))
        return F.linear(hidden, mlp[2].weight, mlp[2].bias)
    mc = torch.sigmoid(shared(x.mean(dim=(2, 3))) + shared(x.amax(dim=(2, 3))))
    x1 = x * mc[:, :, None, None]
    pooled = torch.stack([x1.max(dim=1).values, x1.mean(dim=1)], dim=1)  # max first
    sg = m.spatial_gate
    ms = torch.sigmoid(_bn(F.conv2d(pooled, sg.conv.weight, padding=3), sg.bn))
    torch.testing.assert_close(m(x), x1 * ms, **TOL)


@pytest.mark.parametrize('aggregation', ['add', 'max', 'mul'])
def test_scse(aggregation):
    m, x = _prep(build_attention('scse', 32, rd_ratio=1 / 4, aggregation=aggregation), 2, 32, 4, 6)
    c = torch.sigmoid(_fc(torch.relu(_fc(x.mean(dim=(2, 3)), m.cse.fc1)), m.cse.fc2))[
                      :, :, None, None]
    s = torch.sigmoid(torch.einsum('nchw,c->nhw', x,
                      m.sse.weight[0, :, 0, 0]) + m.sse.bias)[:, None]
    expected = {'add': x * c + x * s,
                'max': torch.maximum(x * c, x * s), 'mul': x * c * s}[aggregation]
    torch.testing.assert_close(m(x), expected, **TOL)


def test_coordinate_attention():
    m, x = _prep(build_attention('coord', 64), 2, 64, 5, 7)
    n, c, h, w = x.shape
    z_h = x.mean(dim=3)                                   # (N, C, H), eq. (2)
    z_w = x.mean(dim=2)                                   # (N, C, W), eq. (3)
    f = torch.cat([z_h, z_w], dim=2)                      # (N, C, H+W)
    f = torch.einsum('nct,mc->nmt', f, m.conv1.weight[:, :, 0, 0]) + m.conv1.bias[:, None]
    f = _bn(f, m.bn1)
    f = f * torch.clamp(f + 3, 0, 6) / 6                  # h_swish
    f_h, f_w = f[..., :h], f[..., h:]
    g_h = torch.sigmoid(torch.einsum('nmt,cm->nct', f_h,
                        m.conv_h.weight[:, :, 0, 0]) + m.conv_h.bias[:, None])
    g_w = torch.sigmoid(torch.einsum('nmt,cm->nct', f_w,
                        m.conv_w.weight[:, :, 0, 0]) + m.conv_w.bias[:, None])
    torch.testing.assert_close(m(x), x * g_h[:, :, :, None] * g_w[:, :, None, :], **TOL)
    assert m.conv1.out_channels == max(8, 64 // 32)


def _pointwise(x, conv):
    return (torch.einsum('nchw,mc->nmhw', x, conv.weight[:, :, 0, 0])
            + conv.bias[None, :, None, None])


def test_non_local_embedded_gaussian():
    m, x = _prep(build_attention('nonlocal', 16), 2, 16, 3, 5)
    n, c, h, w = x.shape
    theta, phi, g = (_pointwise(x, mod.conv).reshape(n, 8, -1) for mod in (m.theta, m.phi, m.g))
    f = torch.softmax(torch.einsum('nci,ncj->nij', theta, phi) / math.sqrt(8), dim=-1)  # eq. (3)
    y = torch.einsum('nij,ncj->nci', f, g).reshape(n, 8, h, w)
    torch.testing.assert_close(m(x), x + _pointwise(y, m.conv_out.conv), **TOL)


def _criss_cross_once(x, m):
    n, c, h, w = x.shape
    q, k, v = _pointwise(x, m.query_conv), _pointwise(x, m.key_conv), _pointwise(x, m.value_conv)
    out = torch.zeros_like(x)
    for i in range(h):
        for j in range(w):
            # column positions (centre excluded) then row positions (centre included)
            col = [(r, j) for r in range(h) if r != i]
            row = [(i, s) for s in range(w)]
            pos = col + row
            keys = torch.stack([k[:, :, r, s] for r, s in pos], dim=-1)     # N, C', P
            vals = torch.stack([v[:, :, r, s] for r, s in pos], dim=-1)     # N, C, P
            att = torch.softmax(torch.einsum('nc,ncp->np', q[:, :, i, j], keys), dim=-1)
            out[:, :, i, j] = torch.einsum('np,ncp->nc', att, vals)
    return m.gamma * out + x


def test_criss_cross_recurrent_shared_weights():
    m, x = _prep(build_attention('cc', 16), 2, 16, 4, 3)
    assert m.recurrence == 2
    expected = _criss_cross_once(_criss_cross_once(x, m), m)
    torch.testing.assert_close(m(x), expected, **TOL)


def test_danet_position_attention():
    m, x = _prep(build_attention('pam', 16), 2, 16, 3, 4)
    n, c, h, w = x.shape
    b, cc, d = (_pointwise(x, mod).reshape(n, -1, h * w)
                for mod in (m.query_conv, m.key_conv, m.value_conv))
    s = torch.softmax(torch.einsum('nci,ncj->nij', b, cc), dim=-1)  # s_ji: i attends j
    e = torch.einsum('nij,ncj->nci', s, d).reshape(n, c, h, w)
    torch.testing.assert_close(m(x), m.gamma * e + x, **TOL)


def _cam(x, gamma):
    n, c, h, w = x.shape
    a = x.reshape(n, c, -1)
    energy = torch.einsum('nik,njk->nij', a, a)
    att = torch.softmax(energy.max(dim=-1, keepdim=True).values - energy, dim=-1)
    return gamma * torch.einsum('nij,njk->nik', att, a).reshape(x.shape) + x


def test_danet_channel_attention():
    m, x = _prep(build_attention('cam', 8), 2, 8, 3, 3)
    torch.testing.assert_close(m(x), _cam(x, m.gamma), **TOL)


def test_dual_attention_is_sum_of_both_with_one_residual():
    m, x = _prep(build_attention('danet', 16), 2, 16, 3, 4)
    torch.testing.assert_close(m(x), m.pam(x) + _cam(x, m.cam.gamma) - x, **TOL)


def test_selective_kernel():
    m, x = _prep(build_attention('sk', 64, groups=32), 2, 64, 6, 5)
    feats = []
    for i, branch in enumerate(m.branches):
        y = F.conv2d(x, branch.conv.weight, padding=i + 1, dilation=i + 1, groups=32)
        feats.append(torch.relu(_bn(y, branch.bn)))
    s = sum(feats).mean(dim=(2, 3))
    z = torch.relu(_bn(s @ m.fc_reduce.conv.weight[:, :, 0, 0].T, m.fc_reduce.bn))
    assert m.fc_reduce.conv.out_channels == max(64 // 16, 32)
    logits = _fc(z, m.fc_select).reshape(2, 2, 64)
    a = torch.softmax(logits, dim=1)
    expected = sum(f * a[:, i, :, None, None] for i, f in enumerate(feats))
    torch.testing.assert_close(m(x), expected, **TOL)


def test_mbconv_se_width_from_block_input():
    m, x = _prep(build_attention('mbconv_se', 96, block_in_channels=24), 2, 96, 3, 3)
    assert m.conv_reduce.out_channels == max(1, int(24 * 0.25))
    z = _fc(x.mean(dim=(2, 3)), m.conv_reduce)
    s = torch.sigmoid(_fc(z * torch.sigmoid(z), m.conv_expand))
    torch.testing.assert_close(m(x), x * s[:, :, None, None], **TOL)


@pytest.mark.parametrize('kernel_size', [3, 'adaptive'])
def test_eca(kernel_size):
    c = 256
    m, x = _prep(build_attention('eca', c, kernel_size=kernel_size), 2, c, 4, 4)
    if kernel_size == 'adaptive':  # paper eq. (12): k = |log2(C)/gamma + b/gamma|_odd
        t = int(abs(math.log2(c) / 2 + 1 / 2))
        k = t if t % 2 == 1 else t + 1
    else:
        k = kernel_size
    assert m.kernel_size == k
    y = x.mean(dim=(2, 3))
    wk = m.conv.weight[0, 0]
    padded = F.pad(y, (k // 2, k // 2))
    conv = torch.stack([(padded[:, i:i + k] * wk).sum(-1) for i in range(c)], dim=1)
    torch.testing.assert_close(m(x), x * torch.sigmoid(conv)[:, :, None, None], **TOL)


def test_global_context():
    m, x = _prep(build_attention('gc', 64), 2, 64, 3, 5)
    n, c, h, w = x.shape
    logits = torch.einsum('nchw,c->nhw', x, m.conv_mask.weight[0, :, 0, 0]) + m.conv_mask.bias
    alpha = torch.softmax(logits.reshape(n, -1), dim=-1)
    context = torch.einsum('nci,ni->nc', x.reshape(n, c, -1), alpha)
    t = m.channel_add_conv
    y = _fc(context, t[0])
    y = F.layer_norm(y, (y.shape[1],), t[1].weight[:, 0, 0], t[1].bias[:, 0, 0], eps=t[1].eps)
    y = _fc(torch.relu(y), t[3])
    assert t[0].out_channels == 64 // 16
    torch.testing.assert_close(m(x), x + y[:, :, None, None], **TOL)


@pytest.mark.parametrize('kernel_size', [3, 7])
def test_spatial_attention_module(kernel_size):
    """CenterMask's SAM: [mean, max] over channels (mean first), KxK conv
    without bias, sigmoid, times the input; written as explicit sums."""
    m, x = _prep(build_attention('sam', 16, kernel_size=kernel_size), 3, 16, 6, 7)
    n, c, h, w = x.shape
    k, p = kernel_size, kernel_size // 2
    pooled = F.pad(torch.stack([x.sum(1) / c, x.max(1).values], 1), (p, p, p, p))
    wk = m.conv.weight[0]
    logits = torch.zeros(n, h, w, dtype=x.dtype)
    for ch in range(2):
        for i in range(k):
            for j in range(k):
                logits += wk[ch, i, j] * pooled[:, ch, i:i + h, j:j + w]
    assert m.conv.bias is None
    torch.testing.assert_close(m(x), x * torch.sigmoid(logits)[:, None], **TOL)
    assert m(x[:0]).shape == (0, c, h, w)  # no RoIs


def test_spatial_attention_module_is_msra_filled_and_checks_its_kernel():
    torch.manual_seed(0)
    weights = torch.cat([build_attention('sam', 8).conv.weight.flatten() for _ in range(400)])
    # Kaiming normal, fan-out = 1 output x 3 x 3: std sqrt(2 / 9)
    assert float(weights.mean()) == pytest.approx(0, abs=0.02)
    assert float(weights.std()) == pytest.approx(math.sqrt(2 / 9), rel=0.03)
    with pytest.raises(ValueError, match="SpatialAttentionModule: kernel_size=5 is invalid"):
        build_attention('sam', 8, kernel_size=5)
