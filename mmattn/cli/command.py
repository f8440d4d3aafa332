"""What every mmattn command shares: the argument parser, ``--cfg-options``,
and how a user's mistake is reported (one line, once per launch, exit 2)."""
import argparse
import os
import sys
from typing import Callable, List, NoReturn, Optional

from mmengine.config import DictAction

from mmattn.utils.config import check_option
from mmattn.utils.errors import UsageError


def is_first_process() -> bool:
    """True except in the processes of rank > 0 of a distributed launch."""
    return os.environ.get('RANK', '0') in ('', '0')


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


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer >= 1')
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer >= 0')
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number > 0')
    return value


def main_of(name: str, parser: Callable[[], argparse.ArgumentParser],
            run: Callable[[argparse.Namespace], Optional[int]]
            ) -> Callable[[Optional[List[str]]], int]:
    """A command's ``main(argv=None)``: parse, then ``run_command``."""
    def main(argv: Optional[List[str]] = None) -> int:
        return run_command(name, run, parser().parse_args(argv))
    main.__doc__ = f'The ``{name}`` command.'
    return main
