"""What every mmattn command shares: the argument parser, ``--cfg-options``,
and how a user's mistake is reported (one line, once per launch, exit 2)."""
import argparse
import os
import sys
from typing import Callable, NoReturn, Optional

from mmengine.config import DictAction

from mmattn.utils.config import check_option
from mmattn.utils.errors import UsageError


def is_first_process() -> bool:
    """True except in the processes of rank > 0 of a distributed launch
    (torchrun's RANK, Slurm's SLURM_PROCID, Open MPI's OMPI_COMM_WORLD_RANK)."""
    return all(os.environ.get(key, '0') in ('', '0')
               for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'))


def print_once(message: str) -> None:
    """Print to stderr in the first process only (not once per rank)."""
    if is_first_process():
        print(message, file=sys.stderr, flush=True)


class CommandParser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one line (no usage block), once."""

    def error(self, message: str) -> NoReturn:
        print_once(f'{self.prog}: error: {message} (see {self.prog} --help)')
        sys.exit(2)


class ConfigOptions(DictAction):
    """mmengine's ``--cfg-options KEY=VALUE ...``, each checked first."""

    def __call__(self, parser, namespace, values, option_string=None):
        for text in values or []:
            try:
                check_option(text)
            except UsageError as error:
                parser.error(str(error))
        super().__call__(parser, namespace, values, option_string)


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptions, metavar='KEY=VALUE',
                        help='override config entries, e.g. model.backbone.depth=101')


def add_config_and_checkpoint(parser: argparse.ArgumentParser, what: str = 'checkpoint file'
                              ) -> None:
    """The CONFIG CHECKPOINT positionals of the commands that load a model."""
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help=what)


def add_allow_partial(parser: argparse.ArgumentParser, what: str) -> None:
    """``--allow-partial``: accept a checkpoint that fills only part of the
    model (see ``mmattn.utils.checkpoint.check_fit``), for ``what``."""
    parser.add_argument('--allow-partial', action='store_true',
                        help=f'{what} a checkpoint that fills only part of the model (the rest '
                             'keeps its initialisation); without it such a checkpoint is refused')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The arguments train and test share (MMDetection's)."""
    parser.add_argument('--work-dir', help='where logs, checkpoints and metrics go')
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    # dist_*.sh run the command once with this before torchrun starts N copies
    parser.add_argument('--preflight', action='store_true', help=argparse.SUPPRESS)


def run_command(name: str, run: Callable[[argparse.Namespace], Optional[int]],
                args: argparse.Namespace) -> int:
    """``run(args)``'s exit status; a UsageError (raised anywhere, also while
    training) is printed as ``name: error: ...`` by the first process only,
    and the status is 2. Other exceptions keep their traceback."""
    try:
        status = run(args)
    except UsageError as error:
        print_once(f'{name}: error: {error}')
        return 2
    return 0 if status is None else int(status)


def _number(kind: type, low: float, strict: bool) -> Callable[[str], float]:
    """An argparse type: a ``kind`` (int or float) above ``low`` (or at it,
    unless ``strict``)."""
    bound = f"{'>' if strict else '>='} {low:g}"
    noun = 'an integer' if kind is int else 'a number'

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f'{text!r} is not {noun} {bound}')
        return value
    parse.__name__ = f'{kind.__name__} {bound}'
    return parse


positive_int = _number(int, 1, strict=False)
non_negative_int = _number(int, 0, strict=False)
positive_float = _number(float, 0, strict=True)
