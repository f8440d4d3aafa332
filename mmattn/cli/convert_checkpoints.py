"""Checkpoint converters (``tools/model_converters/<source>_to_mmattn.py``):

* ``vovnet_detectron2_to_mmattn SRC DST``: an official VoVNet checkpoint
  (youngwanLEE/vovnet-detectron2 or CenterMask releases: .pth or .pkl, tensors
  or numpy arrays, with or without a ``model`` wrapper and the
  ``backbone.bottom_up.`` prefix) into a VoVNet backbone checkpoint;
* ``timm_vovnet_to_mmattn SRC DST``: a timm ``ese_vovnet*`` state dict;
* ``centermask2_to_mmattn SRC DST [--config CONFIG]``: a whole centermask2
  CenterMask / CenterMask-Lite checkpoint for ``configs/centermask/``;
* ``mmpretrain_to_mmattn SRC DST [--prefix backbone.]``: the backbone of an
  mmpretrain (or any mmengine) checkpoint, e.g. the EPSANet ImageNet run's.

Each reads SRC as data only (nothing from the file runs), refuses a file that
is not a readable checkpoint or whose weights do not fit with one message
(exit 2, nothing written), drops BatchNorm counters the target has no place
for (saying how many), and writes DST all at once. DST may not be SRC, and an
existing DST is replaced only if this converter wrote it (``meta.written_by``)
or with ``--overwrite``.
"""
import argparse
import os.path as osp
from typing import Callable, Dict, List, Optional, Tuple

import torch

from .command import CommandParser, run_command

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _read_weights(path: str, strip_module: bool = False) -> Dict[str, torch.Tensor]:
    from mmattn.utils.checkpoint import load_checkpoint_file, state_dict_of
    from mmattn.utils.errors import CheckpointError
    data = load_checkpoint_file(path, what='SRC')
    try:
        return state_dict_of(data, strip_module=strip_module)
    except CheckpointError as error:
        raise CheckpointError(f'SRC {path!r}: {error}') from None


def _written_by(path: str) -> str:
    """``meta.written_by`` of a checkpoint mmattn wrote, else ''."""
    from mmattn.utils.checkpoint import load_checkpoint_file
    from mmattn.utils.errors import UsageError
    try:
        data = load_checkpoint_file(path, map_location='meta', what='DST')
    except UsageError:
        return ''
    meta = data.get('meta') if isinstance(data, dict) else None
    return str(meta.get('written_by', '')) if isinstance(meta, dict) else ''


def _check_dst(args: argparse.Namespace) -> None:
    """DST is not SRC, and an existing DST is this converter's own output
    (or ``--overwrite``): checked before SRC is read."""
    from mmattn.utils.staged_writes import check_output_file
    check_output_file(args.dst, f'DST {args.dst!r}', overwrite=args.overwrite,
                      inputs=[args.src], owned=lambda path: _written_by(path) == args.prog)


def _save(args: argparse.Namespace, state: Dict[str, torch.Tensor], meta: dict) -> None:
    from mmattn.utils.staged_writes import staged_file
    with staged_file(args.dst) as partial:
        torch.save({'state_dict': state, 'meta': dict(meta, written_by=args.prog)}, partial)


def _parser(prog: str, description: str, dst_help: str) -> argparse.ArgumentParser:
    parser = CommandParser(prog=prog, description=description)
    parser.add_argument('src', help='input checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help=dst_help)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing DST this converter did not write')
    parser.set_defaults(prog=prog)
    return parser


# ----------------------------------------------------------------- VoVNet
def _convert_vovnet(args: argparse.Namespace, convert: Callable, source: str) -> int:
    from mmattn.converters.vovnet_checkpoints import infer_spec
    from mmattn.utils.errors import CheckpointError
    _check_dst(args)
    state, leftovers = convert(_read_weights(args.src))
    try:
        arch, position = infer_spec(state)
    except ValueError as error:
        raise CheckpointError(f'SRC {args.src!r}: {error}') from None
    _save(args, state, dict(arch=arch, ese_position=position, source=source))
    print(f'wrote {args.dst}: {len(state)} tensors for VoVNet(arch={arch!r}, '
          f'ese_position={position!r})')
    if position != 'every':
        print(f"note: build the backbone with ese_position='{position}' to load it")
    if leftovers:
        print(f'{len(leftovers)} keys are not part of the backbone and were not written:')
        for key in leftovers:
            print(f'  {key}')
    return 0


def _vovnet_parser(prog: str, what: str) -> argparse.ArgumentParser:
    return _parser(prog, f'Convert {what} VoVNet checkpoint for mmattn',
                   'output checkpoint for init_cfg=dict(type="Pretrained")')


def _run_detectron2(args: argparse.Namespace) -> int:
    from mmattn.converters.vovnet_checkpoints import convert_detectron2
    return _convert_vovnet(args, convert_detectron2, 'detectron2')


def _run_timm(args: argparse.Namespace) -> int:
    from mmattn.converters.vovnet_checkpoints import convert_timm
    return _convert_vovnet(args, convert_timm, 'timm')


def vovnet_detectron2_main(argv: Optional[List[str]] = None) -> int:
    """The ``vovnet_detectron2_to_mmattn`` command."""
    name = 'vovnet_detectron2_to_mmattn'
    parser = _vovnet_parser(name, 'an official (detectron2)')
    return run_command(name, _run_detectron2, parser.parse_args(argv))


def timm_vovnet_main(argv: Optional[List[str]] = None) -> int:
    """The ``timm_vovnet_to_mmattn`` command."""
    name = 'timm_vovnet_to_mmattn'
    return run_command(name, _run_timm,
                       _vovnet_parser(name, 'a timm ese_vovnet*').parse_args(argv))


# ------------------------------------------------------------- CenterMask
def _centermask2_parser() -> argparse.ArgumentParser:
    parser = _parser('centermask2_to_mmattn',
                     'Convert an official centermask2 checkpoint for configs/centermask/',
                     'converted checkpoint (load_from / test.py CHECKPOINT)')
    parser.add_argument('--config', help='the CenterMask config the checkpoint is for')
    return parser


def _fit_to(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor]
            ) -> Tuple[Dict[str, torch.Tensor], int, List[str]]:
    """(weights to write, counters dropped, weights that do not fit): BatchNorm
    counters the target has no place for (a backbone trained with BN or
    SyncBN, converted for the FrozenBN model) are not weights and go."""
    kept, dropped, wrong = {}, 0, []
    for key, value in state.items():
        if key not in expected:
            if key.endswith('num_batches_tracked'):
                dropped += 1
                continue
            wrong.append(f'{key}: not in the model')
        elif expected[key].shape != value.shape:
            wrong.append(f'{key}: file {tuple(value.shape)}, model {tuple(expected[key].shape)}')
        else:
            kept[key] = value
    return kept, dropped, wrong


def _run_centermask2(args: argparse.Namespace) -> int:
    import mmattn  # noqa: F401
    from mmattn.converters.centermask_checkpoints import convert_centermask2, matching_config
    from mmattn.utils.config import load_config
    from mmattn.utils.errors import CheckpointError, UsageError
    _check_dst(args)
    state, unknown, dropped_keys = convert_centermask2(_read_weights(args.src))
    if unknown:
        shown = '\n  '.join(unknown[:20]) + ('\n  ...' if len(unknown) > 20 else '')
        raise CheckpointError(f'{len(unknown)} keys of {args.src} are not centermask2 CenterMask '
                              f'weights this converter knows; nothing written:\n  {shown}')
    try:
        config = args.config or matching_config(state, REPO)[0]
    except (ValueError, KeyError) as error:
        raise UsageError(str(error)) from None
    from mmattn.models.builder import build_model_from_config
    expected = build_model_from_config(load_config(config), pretrained=False).state_dict()
    state, counters, wrong = _fit_to(state, expected)
    if wrong:
        raise CheckpointError(f'the converted weights do not fit {config}; nothing written:\n  '
                              + '\n  '.join(wrong))
    unfilled = [k for k in expected if k not in state and not k.endswith('num_batches_tracked')]
    _save(args, state, dict(source='centermask2', config=config))
    print(f'wrote {args.dst}: {len(state)} tensors for {osp.relpath(config, REPO)}')
    if dropped_keys:
        print(f'not weights, not written: {", ".join(dropped_keys)} (the config\'s '
              'data_preprocessor normalises the input)')
    if counters:
        print(f'dropped {counters} BatchNorm num_batches_tracked counters: the model\'s frozen '
              'BatchNorm keeps none (counters are not weights)')
    if unfilled:
        print(f'{len(unfilled)} model weights are not in the file and keep their initialisation:')
        for key in unfilled:
            print(f'  {key}')
    return 0


def centermask2_main(argv: Optional[List[str]] = None) -> int:
    """The ``centermask2_to_mmattn`` command."""
    return run_command('centermask2_to_mmattn', _run_centermask2,
                       _centermask2_parser().parse_args(argv))


# ------------------------------------------------------------- mmpretrain
def _mmpretrain_parser() -> argparse.ArgumentParser:
    parser = _parser('mmpretrain_to_mmattn',
                     'Extract the backbone of an mmpretrain (mmengine) checkpoint',
                     'backbone-only checkpoint to write')
    parser.add_argument('--prefix', default='backbone.', help='key prefix of the backbone')
    return parser


def _run_mmpretrain(args: argparse.Namespace) -> int:
    from mmattn.utils.errors import CheckpointError
    prefix = args.prefix if args.prefix.endswith('.') else args.prefix + '.'
    _check_dst(args)
    weights = _read_weights(args.src, strip_module=True)
    backbone = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    if not backbone:
        shown = ', '.join(sorted(weights)[:5])
        raise CheckpointError(f'SRC {args.src!r}: no keys under --prefix {prefix!r} (it has '
                              f'e.g. {shown})')
    _save(args, backbone, dict(source=osp.basename(args.src), prefix=prefix))
    left = sorted(k for k in weights if not k.startswith(prefix))
    print(f'wrote {args.dst}: {len(backbone)} tensors (keys under {prefix!r}, prefix removed)')
    if left:
        print(f'not written ({len(left)} keys outside the backbone): {", ".join(left[:8])}'
              + (' ...' if len(left) > 8 else ''))
    return 0


def mmpretrain_main(argv: Optional[List[str]] = None) -> int:
    """The ``mmpretrain_to_mmattn`` command."""
    return run_command('mmpretrain_to_mmattn', _run_mmpretrain,
                       _mmpretrain_parser().parse_args(argv))
