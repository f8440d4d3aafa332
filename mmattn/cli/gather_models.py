"""Publish finished zoo runs (``tools/model_zoo/gather_models.py
WORK_DIR_ROOT OUT_DIR``): for every model whose work dir holds its final
checkpoint and ``test_metrics.json`` (what ``run_zoo.py`` leaves), a
published checkpoint (``<model>-<sha256[:8]>.pth``, weights and meta only),
its config and logs in ``OUT_DIR/<model>/``, and ``OUT_DIR/results.md`` and
``OUT_DIR/model_zoo.json``: measured figures beside the metafile's official
ones, the difference, ✓ when ours is at most ``--tolerance`` points below,
training time, GPU count, file name and sha256.

``--url-prefix URL``: where OUT_DIR will be served (``URL/<model>/<file>``).
``--update-metafiles``: write the measured ``Results`` and the ``Weights`` URL
into the metafiles (the official figures stay, as ``Official Results``) and
the table into each family README; ``mim download mmattn --config NAME``
then fetches the weights from the URL.
"""
import argparse
from typing import List, Optional

from .command import CommandParser, positive_float, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='gather_models', description=__doc__.splitlines()[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('work_dir_root', metavar='WORK_DIR_ROOT')
    parser.add_argument('out_dir', metavar='OUT_DIR')
    parser.add_argument('--url-prefix', metavar='URL')
    parser.add_argument('--update-metafiles', action='store_true')
    parser.add_argument('--tolerance', type=positive_float, default=0.5,
                        help='points (AP x 100) a figure may fall below the official one')
    parser.add_argument('--model-index', help='default: mmattn/.mim/model-index.yml')
    return parser


def run(args: argparse.Namespace) -> int:
    from mmattn.zoo.gathering import gather, update_metafiles
    from mmattn.zoo.metafiles import default_model_index
    index = args.model_index or default_model_index()
    gathered = gather(args.work_dir_root, args.out_dir, index, args.url_prefix, args.tolerance)
    for g in gathered:
        figures = ', '.join(f'{n} {r["measured"]}' for n, r in g.metrics.items()
                            if r['measured'] is not None)
        print(f'gather_models: {g.name}: {g.file} ({figures})')
    print(f'gather_models: {len(gathered)} model(s) in {args.out_dir} (results.md, '
          'model_zoo.json)')
    if args.update_metafiles:
        for path in update_metafiles(gathered, index, args.tolerance):
            print(f'gather_models: updated {path}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``gather_models`` command."""
    return run_command('gather_models', run, build_parser().parse_args(argv))
