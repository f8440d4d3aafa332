"""``preflight``: every check of ``mmattn.preflight`` on a config, as one
UsageError listing all the problems found (and, for missing weights, the
ways forward)."""
import logging
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from mmattn.utils.errors import UsageError
from .config_checks import compile_problems, custom_hook_problems, work_dir_problems
from .dataset_checks import dataset_problems
from .model_checks import (build_model, checkpoint_problems, num_classes_problems,
                           pretrained_problems)


def _quietly_build(cfg: Config):
    """The model (mmengine logs each parameter's initialisation: silenced)."""
    logging.disable(logging.WARNING)
    try:
        return build_model(cfg)
    finally:
        logging.disable(logging.NOTSET)


def preflight(cfg: Config, loaders: List[str], checkpoint: Optional[str] = None,
              purpose: str = 'evaluate') -> None:
    """Raise one UsageError listing every problem found (and, for missing
    weights, the ways forward), or return if there is none. ``checkpoint``:
    the file the run loads into the whole model (test.py's CHECKPOINT, or
    ``load_from`` / ``--resume``), loaded for ``purpose`` (``evaluate``,
    ``fine-tune`` or ``resume``: see ``mmattn.utils.checkpoint.check_fit``)."""
    problems = work_dir_problems(cfg) + custom_hook_problems(cfg) + compile_problems(cfg)
    problems += num_classes_problems(cfg)
    model = None
    if not problems:
        try:
            model = _quietly_build(cfg)
        except UsageError as error:
            problems.append(str(error))
    weights, routes = pretrained_problems(cfg, model)
    problems += weights
    what = {'resume': '--resume checkpoint', 'fine-tune': 'load_from'}.get(purpose, 'checkpoint')
    problems += checkpoint_problems(model, checkpoint, what, purpose,
                                    bool(cfg.get('allow_partial_checkpoint', False)))
    found, notes = dataset_problems(cfg, loaders)
    problems += found
    for note in notes:
        print_log(f'note: {note}', logger='current')
    if not problems:
        return
    lines = [problems[0]] if len(problems) == 1 and not routes else \
        [f'{len(problems)} problem(s) to fix before this run can start:'] + \
        [f'  - {p}' for p in problems]
    if routes:
        lines.append('For the missing weights, either:')
        lines += [f'  {i}. {route}' for i, route in enumerate(routes, 1)]
    raise UsageError('\n'.join(lines))
