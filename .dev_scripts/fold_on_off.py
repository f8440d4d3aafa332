"""Conv-BN folding for backbone inference, three ways taking turns in one run:
no folding, mmcv's ``fuse_conv_bn`` applied once (with the weights as they
are and in NHWC), and the on-the-fly folding the backbones had until commit
c6e4990 (``fold_conv_bn=True``), which this measurement (issue #30) removed.
It therefore runs against that commit:

    git worktree add /tmp/c6e4990 c6e4990
    PYTHONPATH=/tmp/c6e4990 python .dev_scripts/fold_on_off.py 512 512 9   # H W rounds

Prints each variant's largest relative difference from the plain forward,
the medians, the ratios and the per-round spread, with the machine line.
"""
import argparse
import copy
import statistics

import torch
from mmcv.cnn import fuse_conv_bn
from mmdet.registry import MODELS

import mmattn  # noqa: F401
from mmattn.analysis.latency import time_interleaved
from mmattn.analysis.machine import machine_line

BACKBONES = {'EPSANet-50': dict(type='EPSANet', depth=50),
             'VoVNet-19-slim-dw': dict(type='VoVNet', arch='V-19-slim-dw-eSE'),
             'VoVNet-39': dict(type='VoVNet', arch='V-39-eSE')}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('height', type=int, nargs='?', default=512)
    parser.add_argument('width', type=int, nargs='?', default=512)
    parser.add_argument('rounds', type=int, nargs='?', default=9)
    args = parser.parse_args()
    height, width, rounds = args.height, args.width, args.rounds
    torch.manual_seed(0)
    x = torch.randn(1, 3, height, width)
    print(f'{machine_line()}, input 1x3x{height}x{width}, {rounds} rounds')
    for name, cfg in BACKBONES.items():
        plain = MODELS.build(dict(cfg, fold_conv_bn=False)).eval()
        for m in plain.modules():  # statistics and affines away from the identity
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.1, 0.1)
        on_the_fly = MODELS.build(dict(cfg, fold_conv_bn=True)).eval()
        on_the_fly.load_state_dict(plain.state_dict())
        fused = fuse_conv_bn(copy.deepcopy(plain))
        fused_nhwc = copy.deepcopy(fused).to(memory_format=torch.channels_last)
        models = {'no folding': plain, 'on the fly': on_the_fly, 'fuse_conv_bn once': fused,
                  'fuse_conv_bn once, NHWC weights': fused_nhwc}
        with torch.inference_mode():
            reference = plain(x)
            for label, model in models.items():
                error = max(float((a - b).abs().max() / b.abs().max())
                            for a, b in zip(model(x), reference))
                print(f'  {name}, {label}: largest relative difference {error:.1e}')
            times = time_interleaved([lambda m=m: m(x) for m in models.values()], 'cpu',
                                     warmup=2, runs=rounds, iters=1)
        medians = dict(zip(models, (statistics.median(t) for t in times)))
        print(f'{name}: ' + ', '.join(f'{k} {1000 * v:.1f} ms' for k, v in medians.items()))
        print(f'  on the fly / fuse_conv_bn once = '
              f'{medians["on the fly"] / medians["fuse_conv_bn once"]:.3f}; '
              f'fuse_conv_bn once / no folding = '
              f'{medians["fuse_conv_bn once"] / medians["no folding"]:.3f}; spread (ms): '
              + ', '.join(f'{1000 * min(t):.0f}..{1000 * max(t):.0f}' for t in times))


if __name__ == '__main__':
    main()
