"""The zoo's models as OpenMMLab metafiles list them: ``model-index.yml``
imports one ``metafile.yml`` per family, each listing models with their
``Config``, official ``Results`` and ``Weights``. Paths in both are relative
to the folder of ``model-index.yml`` (``mmattn/.mim``, whose ``configs`` is
the repository's ``configs/``)."""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import yaml

from mmattn.utils.errors import UsageError

# Metafile metric names and the keys mmattn's evaluators write into
# test_metrics.json (fractions there, percentages in metafiles).
METRIC_KEYS = {'box AP': 'coco/bbox_mAP', 'mask AP': 'coco/segm_mAP',
               'Top 1 Accuracy': 'accuracy/top1', 'mIoU': 'mIoU'}
FRACTION_METRICS = {'coco/bbox_mAP', 'coco/segm_mAP'}


def default_model_index() -> str:
    """The installed package's ``.mim/model-index.yml``."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'model-index.yml')


@dataclass
class ZooModel:
    """One model of a metafile (or a config given outside the metafiles,
    ``metafile`` None)."""

    name: str
    config: str  # a path that exists on this machine
    metafile: Optional[str] = None
    collection: Optional[str] = None
    official: Dict[str, float] = field(default_factory=dict)  # metric name -> percent
    epochs: Optional[int] = None


def _read_yaml(path: str, shown: str):
    if not osp.isfile(path):
        raise UsageError(f'{shown} {path!r} does not exist')
    try:
        with open(path, encoding='utf-8') as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as error:
        raise UsageError(f'{shown} {path!r} is not valid YAML ({error})') from None


def official_results(entry: dict) -> Dict[str, float]:
    """The official figures of a metafile model: ``Official Results`` once
    measured results were written beside them, else ``Results``."""
    results = entry.get('Official Results', entry.get('Results')) or []
    return {name: float(value) for result in results
            for name, value in (result.get('Metrics') or {}).items()}


def metafile_paths(model_index: str) -> List[str]:
    index = _read_yaml(model_index, 'model index')
    root = osp.dirname(osp.abspath(model_index))
    return [osp.join(root, p) for p in (index or {}).get('Import', [])]


def read_models(model_index: str) -> List[ZooModel]:
    """Every model of every metafile ``model_index`` imports, in order."""
    root = osp.dirname(osp.abspath(model_index))
    models = []
    for path in metafile_paths(model_index):
        meta = _read_yaml(path, 'metafile') or {}
        for entry in meta.get('Models') or []:
            epochs = (entry.get('Metadata') or {}).get('Epochs')
            models.append(ZooModel(name=entry['Name'],
                                   config=osp.realpath(osp.join(root, entry['Config'])),
                                   metafile=path, collection=entry.get('In Collection'),
                                   official=official_results(entry),
                                   epochs=int(epochs) if epochs else None))
    return models


def model_from_config(config: str) -> ZooModel:
    """A config outside the metafiles, named after its file."""
    if not osp.isfile(config):
        raise UsageError(f'--configs: {config!r} does not exist')
    return ZooModel(name=osp.splitext(osp.basename(config))[0], config=config)
