"""Training and testing zoo models, one work dir per model
(``WORK_DIR_ROOT/<model name>``), with mmattn's own launch scripts.

A work dir is *finished* when it holds the complete final checkpoint
(``epoch_<max_epochs>.pth`` or ``iter_<max_iters>.pth`` of the config) and
``test_metrics.json``; a rerun skips it, tests a trained one, and resumes a
partial one (``--resume``) instead of starting it again. ``zoo_run.json``
records the launcher, the GPU count and the training time for
``gather_models.py``; each step's output goes to ``zoo_train.log`` /
``zoo_test.log`` in the work dir."""
import fnmatch
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from mmattn.engine.latest_checkpoint import find_latest_valid_checkpoint
from mmattn.utils.checkpoint import is_complete_checkpoint
from mmattn.utils.errors import UsageError
from .metafiles import ZooModel, model_from_config, read_models

LAUNCHERS = ('slurm', 'torchrun', 'local')
RUN_RECORD = 'zoo_run.json'
TOOLS = osp.realpath(osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'tools'))


def select_models(model_index: str, configs: Sequence[str] = (),
                  patterns: Sequence[str] = ()) -> List[ZooModel]:
    """The metafile models (or, with ``configs``, those configs: a metafile
    model where one lists it, else a model named after the file), kept where a
    pattern matches the name or the config path (relative to ``configs/`` or
    as given). Raises UsageError when nothing is left."""
    listed = read_models(model_index)
    if configs:
        by_path = {osp.realpath(m.config): m for m in listed}
        models = [by_path.get(osp.realpath(c)) or model_from_config(c) for c in configs]
    else:
        models = listed
    if patterns:
        configs_root = osp.realpath(osp.join(osp.dirname(osp.abspath(model_index)), 'configs'))

        def names(model: ZooModel) -> List[str]:
            return [model.name, model.config,
                    osp.relpath(osp.realpath(model.config), configs_root)]
        models = [m for m in models if any(fnmatch.fnmatch(n, p) for p in patterns
                                           for n in names(m))]
    if not models:
        raise UsageError(f'no model matches --models {" ".join(patterns)!r}'
                         if patterns else 'no model to run')
    return models


def final_checkpoint_name(cfg) -> str:
    """``epoch_N.pth`` or ``iter_N.pth``: what the config's training ends with."""
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_iters' in train_cfg:
        return f'iter_{train_cfg["max_iters"]}.pth'
    if 'max_epochs' in train_cfg:
        return f'epoch_{train_cfg["max_epochs"]}.pth'
    raise UsageError(f'{cfg.filename}: train_cfg has neither max_epochs nor max_iters')


def run_state(work_dir: str, final_name: str) -> str:
    """'finished', 'trained' (final checkpoint, no test metrics), 'partial'
    (a complete checkpoint to resume from) or 'new'."""
    final = osp.join(work_dir, final_name)
    if osp.isfile(final) and is_complete_checkpoint(final):
        return 'finished' if osp.isfile(osp.join(work_dir, 'test_metrics.json')) else 'trained'
    if osp.isdir(work_dir) and find_latest_valid_checkpoint(work_dir):
        return 'partial'
    return 'new'


@dataclass
class Launch:
    """How each job starts: ``launcher``, ``gpus`` (slurm/torchrun),
    ``partition`` (slurm), ``cfg_options`` (KEY=VALUE strings)."""

    launcher: str
    gpus: int = 8
    partition: Optional[str] = None
    cfg_options: Sequence[str] = ()

    def _options(self) -> List[str]:
        return ['--cfg-options', *self.cfg_options] if self.cfg_options else []

    def train(self, model: ZooModel, work_dir: str, resume: bool) -> List[str]:
        extra = ['--resume'] if resume else []
        if self.launcher == 'slurm':
            return ['env', f'GPUS={self.gpus}', 'bash', osp.join(TOOLS, 'slurm_train.sh'),
                    self.partition, f'zoo-{model.name}', model.config, work_dir, *extra,
                    *self._options()]
        if self.launcher == 'torchrun':
            return ['bash', osp.join(TOOLS, 'dist_train.sh'), model.config, str(self.gpus),
                    '--work-dir', work_dir, *extra, *self._options()]
        return [sys.executable, osp.join(TOOLS, 'train.py'), model.config, '--work-dir',
                work_dir, *extra, *self._options()]

    def test(self, model: ZooModel, work_dir: str, checkpoint: str) -> List[str]:
        if self.launcher == 'slurm':
            return ['env', f'GPUS={self.gpus}', 'bash', osp.join(TOOLS, 'slurm_test.sh'),
                    self.partition, f'zoo-test-{model.name}', model.config, checkpoint,
                    '--work-dir', work_dir, *self._options()]
        if self.launcher == 'torchrun':
            return ['bash', osp.join(TOOLS, 'dist_test.sh'), model.config, checkpoint,
                    str(self.gpus), '--work-dir', work_dir, *self._options()]
        return [sys.executable, osp.join(TOOLS, 'test.py'), model.config, checkpoint,
                '--work-dir', work_dir, *self._options()]

    def gpu_count(self) -> int:
        """GPUs a job uses: ``gpus`` on a cluster, 1 or 0 (CPU) locally."""
        if self.launcher != 'local':
            return self.gpus
        import torch
        return 1 if torch.cuda.is_available() else 0


def shown(argv: Sequence[str]) -> str:
    """A command as one shell line, paths under the current folder relative."""
    cwd = os.getcwd() + os.sep
    return ' '.join(shlex.quote(a[len(cwd):] if a.startswith(cwd) else a) for a in argv)


def _run_logged(argv: List[str], log: str) -> int:
    with open(log, 'a', encoding='utf-8') as f:
        f.write(f'$ {shown(argv)}\n')
        f.flush()
        return subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode


def read_record(work_dir: str) -> Dict:
    try:
        with open(osp.join(work_dir, RUN_RECORD), encoding='utf-8') as f:
            record = json.load(f)
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_record(work_dir: str, record: Dict) -> None:
    from mmattn.engine.hooks.metrics_json_hook import write_json_atomic
    write_json_atomic(osp.join(work_dir, RUN_RECORD), record)


def run_model(model: ZooModel, work_dir: str, final_name: str, launch: Launch) -> Optional[str]:
    """Train (or resume) and test one model; None when it finished, else the
    log of the step that failed."""
    state = run_state(work_dir, final_name)
    os.makedirs(work_dir, exist_ok=True)
    record = read_record(work_dir)
    if state in ('new', 'partial'):
        log = osp.join(work_dir, 'zoo_train.log')
        start = time.time()
        code = _run_logged(launch.train(model, work_dir, resume=state == 'partial'), log)
        record.update(launcher=launch.launcher, gpus=launch.gpu_count(), config=model.config,
                      train_seconds=record.get('train_seconds', 0) + round(time.time() - start))
        _write_record(work_dir, record)
        if code != 0 or run_state(work_dir, final_name) != 'trained':
            return log
    log = osp.join(work_dir, 'zoo_test.log')
    code = _run_logged(launch.test(model, work_dir, osp.join(work_dir, final_name)), log)
    if code != 0 or run_state(work_dir, final_name) != 'finished':
        return log
    return None
