"""Run every attention block and backbone forward and backward under float16
and bfloat16 autocast on a device, against float32, and print a table
(``tools/analysis_tools/device_check.py``):

    python tools/analysis_tools/device_check.py                 # CUDA when present
    python tools/analysis_tools/device_check.py --device cpu --dtypes bf16

Exit status 1 if any module produced non-finite gradients or a relative output
error above --tolerance.
"""
import argparse
from typing import List, Optional

from .command import CommandParser, positive_float, run_command


def build_parser() -> argparse.ArgumentParser:
    import torch
    parser = CommandParser(prog='device_check', description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtypes', nargs='+', default=['fp16', 'bf16'], choices=['fp16', 'bf16'])
    parser.add_argument('--only', default='', help='only modules whose name contains this')
    parser.add_argument('--tolerance', type=positive_float, default=5e-2)
    return parser


def run(args: argparse.Namespace) -> int:
    import torch

    from mmattn.analysis.device_check import check
    name = torch.cuda.get_device_name() if args.device.startswith('cuda') else 'cpu'
    print(f'device {args.device} ({name}), torch {torch.__version__}')
    print('| module | autocast | relative output error | finite gradients | ok |')
    print('| --- | --- | ---: | --- | --- |')
    rows = check(args.device, args.dtypes, only=args.only, tolerance=args.tolerance)
    for r in rows:
        print(f"| {r['name']} | {r['dtype']} | {r['rel_error']:.2e} | {r['finite_grads']} | "
              f"{'yes' if r['ok'] else 'NO'} |")
    failed = [r for r in rows if not r['ok']]
    print(f'{len(rows) - len(failed)} passed, {len(failed)} failed')
    return 1 if failed else 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``device_check`` command."""
    return run_command('device_check', run, build_parser().parse_args(argv))
