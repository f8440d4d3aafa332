"""Refuse a process count larger than the GPUs present (used by dist_*.sh)."""
import sys

import torch


def main() -> int:
    arg = sys.argv[1] if len(sys.argv) > 1 else ''
    if not arg.isdigit() or int(arg) < 1:
        print(f'error: N={arg!r} must be a positive integer (processes per node)', file=sys.stderr)
        return 2
    n = int(arg)
    if torch.cuda.is_available():
        gpus = torch.cuda.device_count()
        if n > gpus:
            print(f'error: N={n} processes requested but only {gpus} GPU(s) are visible '
                  f'(CUDA_VISIBLE_DEVICES={__import__("os").environ.get("CUDA_VISIBLE_DEVICES")!r}); '
                  f'use N <= {gpus}', file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
