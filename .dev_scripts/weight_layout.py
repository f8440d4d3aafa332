"""VoVNet-39 inference with its weights in NCHW (what ``eval()`` kept before
``channels_last.weights_for_mode``) and in NHWC (what it keeps now under
``channels_last='auto'``), taking turns in one run; the input is NHWC either
way. Usage: ``python .dev_scripts/weight_layout.py SIZE ROUNDS``."""
import argparse
import copy
import statistics

import torch

from mmattn.analysis.latency import time_interleaved
from mmattn.analysis.machine import machine_line
from mmattn.models.backbones import VoVNet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('size', type=int, nargs='?', default=96)
    parser.add_argument('rounds', type=int, nargs='?', default=15)
    args = parser.parse_args()
    torch.manual_seed(0)
    nhwc = VoVNet('V-39-eSE').eval()
    nchw = copy.deepcopy(nhwc).to(memory_format=torch.contiguous_format)
    x = torch.randn(1, 3, args.size, args.size)
    with torch.inference_mode():
        error = max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(nhwc(x), nchw(x)))
        times = time_interleaved([lambda: nchw(x), lambda: nhwc(x)], 'cpu', 2, args.rounds, 1)
    ms = [1000 * statistics.median(t) for t in times]
    print(f'{machine_line()}; VoVNet-39 eval, 1x3x{args.size}x{args.size}, {args.rounds} rounds: '
          f'weights NCHW {ms[0]:.1f} ms, NHWC {ms[1]:.1f} ms, ratio {ms[1] / ms[0]:.3f} '
          f'(outputs within {error:.0e})')


if __name__ == '__main__':
    main()
