"""Gathering finished zoo runs into a publication folder:

    OUT_DIR/<model>/<model>-<sha256[:8]>.pth   published checkpoint
    OUT_DIR/<model>/<config>.py                the config the run used
    OUT_DIR/<model>/test_metrics.json, zoo_*.log, logs/<timestamp>/...
    OUT_DIR/results.md, OUT_DIR/model_zoo.json

Measured figures are compared with the metafile's official ones: a model
reproduces when its figure is at most ``tolerance`` points below the
official one. ``update_metafiles`` writes the measured ``Results`` and the
``Weights`` URL into the metafiles (the official figures move to
``Official Results``) and a table into each family README between markers.
"""
import glob
import json
import os
import os.path as osp
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import yaml

from mmattn.utils.config import load_config
from mmattn.utils.errors import UsageError
from mmattn.utils.staged_writes import publish_files_into, staged_file
from .metafiles import FRACTION_METRICS, METRIC_KEYS, ZooModel, metafile_paths, read_models
from .publishing import publish_checkpoint
from .runs import final_checkpoint_name, read_record, run_state

MAKER = 'gather_models'
DEFAULT_TOLERANCE = 0.5  # AP / accuracy points
README_BEGIN = '<!-- mmattn-zoo: measured results, written by gather_models.py -->'
README_END = '<!-- mmattn-zoo: end -->'


@dataclass
class Gathered:
    """One published model."""

    name: str
    config: str
    file: str
    sha256: str
    url: Optional[str]
    metrics: Dict[str, dict] = field(default_factory=dict)  # name -> measured/official/...
    train_seconds: Optional[int] = None
    gpus: Optional[int] = None
    launcher: Optional[str] = None


def measured_metrics(test_metrics: dict) -> Dict[str, float]:
    """Metafile-named figures (percent) from a ``test_metrics.json``."""
    found = {}
    for name, key in METRIC_KEYS.items():
        if isinstance(test_metrics.get(key), (int, float)):
            value = float(test_metrics[key])
            found[name] = round(100 * value if key in FRACTION_METRICS else value, 2)
    return found


def compare(measured: Dict[str, float], official: Dict[str, float],
            tolerance: float) -> Dict[str, dict]:
    rows = {}
    for name in list(measured) + [n for n in official if n not in measured]:
        ours, theirs = measured.get(name), official.get(name)
        diff = None if ours is None or theirs is None else round(ours - theirs, 2)
        rows[name] = dict(measured=ours, official=theirs, diff=diff,
                          reproduced=None if diff is None else diff >= -tolerance)
    return rows


def _dumped_config(work_dir: str, name: str) -> Optional[str]:
    """The config mmengine dumped into the work dir (``<config stem>.py``)."""
    record = read_record(work_dir)
    candidates = []
    if record.get('config'):
        candidates.append(osp.join(work_dir, osp.basename(record['config'])))
    candidates.append(osp.join(work_dir, f'{name}.py'))
    candidates += sorted(glob.glob(osp.join(work_dir, '*.py')))
    return next((c for c in candidates if osp.isfile(c)), None)


def finished_runs(work_root: str, models: List[ZooModel]) -> List[tuple]:
    """(model, work dir, config, final checkpoint) of every finished run
    under ``work_root`` (one folder per model name)."""
    if not osp.isdir(work_root):
        raise UsageError(f'WORK_DIR_ROOT {work_root!r} is not a folder')
    by_name = {m.name: m for m in models}
    runs = []
    for entry in sorted(os.scandir(work_root), key=lambda e: e.name):
        if not entry.is_dir(follow_symlinks=False):
            continue
        config = _dumped_config(entry.path, entry.name)
        if config is None:
            continue
        final = final_checkpoint_name(load_config(config))
        if run_state(entry.path, final) != 'finished':
            continue
        model = by_name.get(entry.name) or ZooModel(name=entry.name, config=config)
        runs.append((model, entry.path, config, osp.join(entry.path, final)))
    return runs


def _copy_logs(work_dir: str, dest: str) -> None:
    for name in ('test_metrics.json', 'zoo_train.log', 'zoo_test.log', 'zoo_run.json'):
        if osp.isfile(osp.join(work_dir, name)):
            shutil.copy2(osp.join(work_dir, name), osp.join(dest, name))
    for stamp in sorted(glob.glob(osp.join(work_dir, '[0-9]' * 8 + '_' + '[0-9]' * 6))):
        files = glob.glob(osp.join(stamp, '*.log')) + glob.glob(osp.join(stamp, 'vis_data',
                                                                         '*.json'))
        for path in files:
            target = osp.join(dest, 'logs', osp.relpath(path, work_dir))
            os.makedirs(osp.dirname(target), exist_ok=True)
            shutil.copy2(path, target)


def _hours(seconds: Optional[int]) -> str:
    return '—' if seconds is None else f'{seconds / 3600:.2f} h'


def _figure(value) -> str:
    return '—' if value is None else f'{value:g}'


def results_markdown(gathered: List[Gathered], tolerance: float) -> str:
    """The results table: one row per model and figure."""
    lines = [f'| model | figure | ours | official | difference | reproduced (≥ official − '
             f'{tolerance:g}) | training time | GPUs | weights | sha256 |',
             '| --- | --- | ---: | ---: | ---: | :---: | ---: | ---: | --- | --- |']
    for g in gathered:
        weights = f'[{osp.basename(g.file)}]({g.url})' if g.url else osp.basename(g.file)
        gpus = '—' if g.gpus is None else ('CPU' if g.gpus == 0 else str(g.gpus))
        for name, row in (g.metrics or {'—': {}}).items():
            mark = {True: '✓', False: '✗'}.get(row.get('reproduced'), '—')
            lines.append(f'| {g.name} | {name} | {_figure(row.get("measured"))} | '
                         f'{_figure(row.get("official"))} | {_figure(row.get("diff"))} | {mark} | '
                         f'{_hours(g.train_seconds)} | {gpus} | {weights} | `{g.sha256[:8]}` |')
    return '\n'.join(lines) + '\n'


def gather(work_root: str, out_dir: str, model_index: str, url_prefix: Optional[str] = None,
           tolerance: float = DEFAULT_TOLERANCE) -> List[Gathered]:
    """Publish every finished run under ``work_root`` into ``out_dir`` (files
    mmattn did not write there are never replaced) and write ``results.md``
    and ``model_zoo.json``."""
    runs = finished_runs(work_root, read_models(model_index))
    if not runs:
        raise UsageError(f'no finished run under {work_root!r} (a folder per model holding its '
                         'final checkpoint and test_metrics.json; run_zoo.py makes them)')
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{osp.basename(osp.abspath(out_dir))}.gather-',
                               dir=parent)
    try:
        gathered = []
        for model, work_dir, config, checkpoint in runs:
            dest = osp.join(staging, model.name)
            os.makedirs(dest)
            path, digest = publish_checkpoint(checkpoint, osp.join(dest, f'{model.name}.pth'))
            shutil.copy2(config, osp.join(dest, osp.basename(config)))
            _copy_logs(work_dir, dest)
            with open(osp.join(work_dir, 'test_metrics.json'), encoding='utf-8') as f:
                measured = measured_metrics(json.load(f))
            record = read_record(work_dir)
            file = f'{model.name}/{osp.basename(path)}'
            gathered.append(Gathered(
                name=model.name, config=osp.relpath(model.config) if model.metafile
                else osp.basename(config), file=file, sha256=digest,
                url=f'{url_prefix.rstrip("/")}/{file}' if url_prefix else None,
                metrics=compare(measured, model.official, tolerance),
                train_seconds=record.get('train_seconds'), gpus=record.get('gpus'),
                launcher=record.get('launcher')))
        with open(osp.join(staging, 'results.md'), 'w', encoding='utf-8') as f:
            f.write(f'# Model zoo results\n\nFigures in points (AP × 100); ✓ when ours is at '
                    f'most {tolerance:g} below the official figure.\n\n')
            f.write(results_markdown(gathered, tolerance))
        with open(osp.join(staging, 'model_zoo.json'), 'w', encoding='utf-8') as f:
            json.dump({'tolerance': tolerance, 'models': [asdict(g) for g in gathered]}, f,
                      indent=2)
        publish_files_into(staging, out_dir, MAKER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return gathered


def _write_text(path: str, text: str) -> None:
    with staged_file(path) as partial:
        with open(partial, 'w', encoding='utf-8') as f:
            f.write(text)


def _yaml_results(figures: Dict[str, float]) -> List[dict]:
    tasks = {'box AP': ('Object Detection', 'COCO'), 'mask AP': ('Instance Segmentation', 'COCO'),
             'Top 1 Accuracy': ('Image Classification', 'ImageNet-1k'),
             'mIoU': ('Semantic Segmentation', 'ADE20K')}
    results = []
    for name, value in figures.items():
        task, dataset = tasks[name]
        results.append({'Task': task, 'Dataset': dataset, 'Metrics': {name: value}})
    return results


def update_metafiles(gathered: List[Gathered], model_index: str,
                     tolerance: float = DEFAULT_TOLERANCE) -> List[str]:
    """Write measured ``Results`` and ``Weights`` (URL, else the file name)
    into the metafiles listing the gathered models (official figures kept as
    ``Official Results``), and the results table into each family README
    between ``README_BEGIN`` and ``README_END`` (appended when absent).
    Returns the files changed."""
    by_name = {g.name: g for g in gathered}
    changed = []
    root = osp.dirname(osp.abspath(model_index))
    for path in metafile_paths(model_index):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        meta = yaml.safe_load(text) or {}
        hits = [m for m in meta.get('Models') or [] if m['Name'] in by_name]
        if not hits:
            continue
        for entry in hits:
            g = by_name[entry['Name']]
            if 'Official Results' not in entry and entry.get('Results'):
                entry['Official Results'] = entry['Results']
            measured = {n: r['measured'] for n, r in g.metrics.items()
                        if r['measured'] is not None}
            entry['Results'] = _yaml_results(measured)
            entry['Weights'] = g.url or g.file
        _write_text(path, _leading_comments(text) + yaml.safe_dump(
            meta, sort_keys=False, allow_unicode=True, width=100))
        changed.append(path)
        readmes = {c.get('README') for c in meta.get('Collections') or [] if c.get('README')}
        for readme in sorted(readmes):
            family = [by_name[m['Name']] for m in hits
                      if _collection_readme(meta, m) == readme]
            if family:
                changed.append(_update_readme(osp.join(root, readme), family, tolerance))
    return changed


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith('#'):
            break
        lines.append(line)
    return ''.join(lines)


def _collection_readme(meta: dict, model: dict) -> Optional[str]:
    for collection in meta.get('Collections') or []:
        if collection.get('Name') == model.get('In Collection'):
            return collection.get('README')
    return None


def _update_readme(path: str, gathered: List[Gathered], tolerance: float) -> str:
    text = open(path, encoding='utf-8').read() if osp.isfile(path) else ''
    block = (f'{README_BEGIN}\n\nMeasured by `tools/model_zoo/gather_models.py`, beside the '
             f'official figures:\n\n{results_markdown(gathered, tolerance)}\n{README_END}')
    if README_BEGIN in text and README_END in text:
        start = text.index(README_BEGIN)
        end = text.index(README_END) + len(README_END)
        text = text[:start] + block + text[end:]
    else:
        text = text.rstrip('\n') + '\n\n## Published weights\n\n' + block + '\n'
    _write_text(path, text)
    return path
