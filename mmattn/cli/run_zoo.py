"""Train and test zoo models into one work dir each
(``tools/model_zoo/run_zoo.py``):

    # every metafile model on a Slurm partition, 8 GPUs per job
    python tools/model_zoo/run_zoo.py --launcher slurm --partition gpu --gpus 8
    # the VoVNet models on this node's 8 GPUs, printing the commands only
    python tools/model_zoo/run_zoo.py --launcher torchrun --models 'vovnet/*' --dry-run
    # the demo mini-zoo, one after another on this machine
    python tools/model_zoo/run_zoo.py --launcher local --models 'demo/*'

Models come from ``mmattn/.mim/model-index.yml`` (``--configs`` adds configs
outside it); ``--models`` globs match a model's name or its config path
under ``configs/``. Each model trains with ``tools/slurm_train.sh``,
``tools/dist_train.sh`` or ``tools/train.py`` into
``WORK_DIR_ROOT/<name>`` and its final checkpoint is then tested there
(``test_metrics.json``). A rerun skips finished models, tests trained ones
and resumes partial ones. Failed jobs are listed at the end with their log.
Then ``tools/model_zoo/gather_models.py`` publishes the results.
"""
import argparse
import os.path as osp
from typing import List, Optional

from .command import CommandParser, positive_int, run_command


def build_parser() -> argparse.ArgumentParser:
    from mmattn.zoo.runs import LAUNCHERS
    parser = CommandParser(prog='run_zoo', description=__doc__.splitlines()[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('--launcher', required=True, choices=LAUNCHERS)
    parser.add_argument('--partition', help='Slurm partition (--launcher slurm)')
    parser.add_argument('--gpus', type=positive_int, default=8,
                        help='GPUs per job (slurm, torchrun; default 8, the official schedules)')
    parser.add_argument('--configs', nargs='+', default=[], metavar='CFG',
                        help='run these configs (metafile models or not) instead of every model')
    parser.add_argument('--models', nargs='+', default=[], metavar='GLOB',
                        help="keep models whose name or config path matches, e.g. 'vovnet/*'")
    parser.add_argument('--work-dir-root', default='work_dirs/zoo', metavar='DIR')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the commands, one line per model, and run nothing')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed on to every train and test command')
    parser.add_argument('--model-index', help='default: mmattn/.mim/model-index.yml')
    return parser


def run(args: argparse.Namespace) -> int:
    from mmattn.utils.config import check_option, load_config
    from mmattn.utils.errors import UsageError
    from mmattn.zoo.metafiles import default_model_index
    from mmattn.zoo.runs import Launch, final_checkpoint_name, run_model, run_state, select_models
    from mmattn.zoo.runs import shown as shown_command
    if args.launcher == 'slurm' and not args.partition:
        raise UsageError('--launcher slurm needs --partition P')
    for option in args.cfg_options:
        check_option(option)
    models = select_models(args.model_index or default_model_index(), args.configs, args.models)
    launch = Launch(args.launcher, args.gpus, args.partition, args.cfg_options)
    options = dict(o.split('=', 1) for o in args.cfg_options)
    plans = []
    for model in models:  # every config is read before anything runs
        cfg = load_config(model.config, options or None)
        work_dir = osp.abspath(osp.join(args.work_dir_root, model.name))
        plans.append((model, work_dir, final_checkpoint_name(cfg)))
    failed = []
    for model, work_dir, final_name in plans:
        state = run_state(work_dir, final_name)
        if args.dry_run:
            steps = []
            if state in ('new', 'partial'):
                steps.append(launch.train(model, work_dir, resume=state == 'partial'))
            if state != 'finished':
                steps.append(launch.test(model, work_dir, osp.join(work_dir, final_name)))
            line = ' && '.join(shown_command(s) for s in steps)
            print(f'# {model.name}: finished, skipped' if not steps else line)
            continue
        if state == 'finished':
            print(f'run_zoo: {model.name}: finished in {work_dir}, skipped')
            continue
        print(f'run_zoo: {model.name}: {"resuming" if state == "partial" else state}, '
              f'work dir {work_dir}', flush=True)
        log = run_model(model, work_dir, final_name, launch)
        if log:
            failed.append((model.name, log))
            print(f'run_zoo: {model.name}: failed, see {log}', flush=True)
        else:
            print(f'run_zoo: {model.name}: finished', flush=True)
    if failed:
        print(f'run_zoo: {len(failed)} of {len(plans)} model(s) failed:')
        for name, log in failed:
            print(f'  {name}: {log}')
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``run_zoo`` command."""
    return run_command('run_zoo', run, build_parser().parse_args(argv))
