"""Publish a checkpoint: weights and the meta needed to rebuild and test the
model, no optimizer, scheduler or message-hub state, written as
``OUT-<first 8 hex digits of its sha256>.pth``
(``tools/model_converters/publish_model.py IN OUT``).

IN is read with mmattn's safe reader: a TorchScript archive, a file that is
not a checkpoint or one without weights is one message, and nothing is
written. The output is written beside its final name and renamed once
complete. It loads with ``torch.load(weights_only=True)``, in ``load_from``,
``init_cfg``, ``tools/test.py`` and the ONNX exporters.
"""
import argparse
import os.path as osp
from typing import List, Optional

from .command import CommandParser, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='publish_model', description=__doc__.splitlines()[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog='\n'.join(__doc__.splitlines()[4:]))
    parser.add_argument('src', metavar='IN', help='a checkpoint written by training')
    parser.add_argument('out', metavar='OUT',
                        help='output name: OUT.pth (or OUT) becomes OUT-<sha256[:8]>.pth')
    return parser


def run(args: argparse.Namespace) -> int:
    from mmattn.utils.checkpoint import CheckpointError
    from mmattn.utils.errors import UsageError
    from mmattn.utils.staged_writes import check_output_file
    from mmattn.zoo.publishing import publish_checkpoint

    # The final name depends on the content; check the folder and the input now.
    stem = args.out[:-4] if args.out.endswith('.pth') else args.out
    check_output_file(f'{stem}.pth.part', f'OUT {args.out!r}', inputs=[args.src],
                      owned=lambda path: True)
    if osp.abspath(f'{stem}.pth') == osp.abspath(args.src):
        raise UsageError(f'OUT {args.out!r} names the input itself; give another name '
                         '(nothing was written)')
    try:
        path, digest = publish_checkpoint(args.src, args.out)
    except CheckpointError as error:
        raise UsageError(f'{error} (nothing was written)') from None
    print(f'publish_model: wrote {path} (sha256 {digest})')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``publish_model`` command."""
    return run_command('publish_model', run, build_parser().parse_args(argv))
