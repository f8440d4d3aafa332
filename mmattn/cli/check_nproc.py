"""Refuse a process count larger than the GPUs present (``tools/dist_*.sh``
run ``tools/misc/check_nproc.py N`` before starting N processes)."""
import argparse
import os
from typing import List, Optional

from .command import CommandParser, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='dist_train.sh', description=__doc__.splitlines()[0])
    parser.add_argument('nproc', help='processes per node')
    return parser


def run(args: argparse.Namespace) -> int:
    import torch

    from mmattn.utils.errors import UsageError
    if not args.nproc.isdigit() or int(args.nproc) < 1:
        raise UsageError(f'N={args.nproc!r} must be a positive integer (processes per node)')
    n = int(args.nproc)
    if torch.cuda.is_available() and n > torch.cuda.device_count():
        gpus = torch.cuda.device_count()
        raise UsageError(f'N={n} processes requested but only {gpus} GPU(s) are visible '
                         f'(CUDA_VISIBLE_DEVICES={os.environ.get("CUDA_VISIBLE_DEVICES")!r}); '
                         f'use N <= {gpus}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``dist_train.sh`` command."""
    return run_command('dist_train.sh', run, build_parser().parse_args(argv))
