"""Checks run before a runner is built: every problem with the files a run
needs (datasets, pretrained weights, checkpoints) reported at once, in a few
lines a user can act on, instead of a traceback per rank."""
import json
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config


class UsageError(Exception):
    """A problem with the user's command or files; printed without traceback."""


def check_checkpoint(path: str, what: str) -> None:
    """A clear error unless ``path`` is a URL (mmengine downloads it), a
    complete torch zip checkpoint, or a legacy (pickle-format) one."""
    from mmattn.engine import is_complete_checkpoint
    if '://' in path:
        return
    if not osp.isfile(path):
        raise UsageError(f'{what} {path!r} does not exist')
    with open(path, 'rb') as f:
        head = f.read(2)
    if head == b'PK':  # torch >= 1.6's zip format: every member's CRC must hold
        if not is_complete_checkpoint(path):
            raise UsageError(f'{what} {path!r} is incomplete or corrupt '
                             '(cut off while being written?)')
    elif head[:1] != b'\x80':  # legacy format: a pickle stream
        raise UsageError(f'{what} {path!r} is not a checkpoint (neither torch\'s zip format '
                         'nor its legacy pickle format)')


# ---------------------------------------------------------------- datasets
_CLASSIFICATION_DATASETS = ('ImageNet', 'ImageNet21k', 'CustomDataset')


def _datasets(node) -> Iterator[dict]:
    """Leaf dataset configs, through wrappers (RepeatDataset, ConcatDataset...)."""
    if isinstance(node, dict):
        if any(key in node for key in ('ann_file', 'data_prefix', 'data_root')):
            yield node
        for key in ('dataset', 'datasets'):
            if key in node:
                yield from _datasets(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _datasets(item)


def _image_prefix(ds: dict) -> str:
    prefix = ds.get('data_prefix')
    if isinstance(prefix, dict):
        return prefix.get('img') or prefix.get('img_path') or ''
    if prefix:
        return str(prefix)
    return ds.get('split', '') if ds.get('type') in _CLASSIFICATION_DATASETS else ''


def _missing_root_hint(ds: dict, root: str) -> str:
    if ds.get('type') in _CLASSIFICATION_DATASETS:
        return (f'expected ImageNet in mmpretrain\'s layout; a small synthetic one: '
                f'python tools/misc/make_synthetic_imagenet.py {root}')
    if '2017' in str(ds.get('ann_file', '')):
        return ('expected COCO 2017 (annotations/instances_{train,val}2017.json, '
                f'{{train,val}}2017/); to try the command on synthetic shapes: '
                f'python tools/misc/make_synthetic_coco.py {root} --layout coco')
    return ('expected a folder holding the dataset; a small synthetic one: '
            f'python tools/misc/make_synthetic_coco.py {root}')


def _configured_classes(ds: dict) -> Optional[Tuple[str, ...]]:
    """The class names a detection dataset config selects: its
    ``metainfo.classes``, else its dataset type's default (COCO's 80)."""
    classes = (ds.get('metainfo') or {}).get('classes')
    if classes is None and ds.get('type'):
        try:
            from mmdet.registry import DATASETS
            from mmdet.utils import register_all_modules
            register_all_modules(init_default_scope=False)
            dataset_cls = DATASETS.get(ds['type'])
        except (ImportError, KeyError):
            dataset_cls = None
        classes = getattr(dataset_cls, 'METAINFO', {}).get('classes')
    return tuple(classes) if classes else None


def _class_problems(loader: str, ds: dict, ann_path: str, categories: List[dict]) -> List[str]:
    classes = _configured_classes(ds)
    if not classes or not categories:
        return []
    in_file = [c['name'] for c in categories]
    missing = [c for c in classes if c not in in_file]
    if not missing:
        return []
    def shown(names):
        return ', '.join(repr(n) for n in names[:6]) + (' ...' if len(names) > 6 else '')
    return [f'{loader}: {len(missing)} of the {len(classes)} class names the config uses are not '
            f'categories of {ann_path!r}: {shown(missing)}; the file has {shown(in_file)}. '
            f'Set the names with --cfg-options {loader}.dataset.metainfo.classes="(...)" '
            f'(and the heads\' num_classes) or in the config\'s metainfo']


def dataset_problems(cfg: Config, loaders: List[str], max_json_mb: float = 64.0) -> List[str]:
    """A missing data_root, annotation file or image folder of any dataset the
    ``loaders`` use; for COCO-format annotation files up to ``max_json_mb``
    (so not COCO train2017), listed images that are missing or not images."""
    problems = []
    for loader in loaders:
        dataloader = cfg.get(loader)
        if not dataloader:
            continue
        for ds in _datasets(dataloader.get('dataset')):
            root = ds.get('data_root') or ''
            if root and '://' not in root and not osp.isdir(root):
                problems.append(f'{loader}: data_root {root!r} does not exist; '
                                f'{_missing_root_hint(ds, root)}')
                continue
            ann = ds.get('ann_file')
            ann_path = osp.join(root, ann) if ann and not osp.isabs(ann) else ann
            if ann_path and '://' not in ann_path and not osp.isfile(ann_path):
                problems.append(f'{loader}: annotation file {ann_path!r} does not exist; '
                                f'expected {"a list of images" if ds.get("type") in _CLASSIFICATION_DATASETS else "a COCO-format JSON"} '
                                f'(ann_file={ann!r} under data_root={root!r})')
                continue
            prefix = _image_prefix(ds)
            img_dir = osp.join(root, prefix) if not osp.isabs(prefix) else prefix
            if '://' in img_dir:
                continue
            if not osp.isdir(img_dir):
                problems.append(f'{loader}: image folder {img_dir!r} does not exist '
                                f'(data_prefix={prefix!r} under data_root={root!r})')
                continue
            if (ann_path and ann_path.endswith('.json')
                    and osp.getsize(ann_path) <= max_json_mb * 2**20):
                with open(ann_path, encoding='utf-8') as f:
                    annotations = json.load(f)
                problems += _class_problems(loader, ds, ann_path,
                                            annotations.get('categories', []))
                problems += _listed_image_problems(loader, ann_path, img_dir,
                                                   annotations.get('images', []))
    return problems


def _listed_image_problems(loader: str, ann_path: str, img_dir: str,
                           images: List[dict]) -> List[str]:
    """Every image the annotation file lists exists and has a readable image
    header (Pillow reads the header only, so this stays cheap)."""
    from PIL import Image, UnidentifiedImageError
    missing, unreadable = [], []
    for im in images:
        path = osp.join(img_dir, im['file_name'])
        if not osp.isfile(path):
            missing.append(path)
            continue
        try:
            with Image.open(path):
                pass
        except (UnidentifiedImageError, OSError):
            unreadable.append(path)
    problems = []
    for problem, paths in (('missing', missing), ('not readable as images', unreadable)):
        if paths:
            shown = ', '.join(repr(p) for p in paths[:3])
            problems.append(f'{loader}: {len(paths)} image(s) listed in {ann_path!r} are '
                            f'{problem}, e.g. {shown}')
    return problems


# ------------------------------------------------------- pretrained weights
def _pretrained_cfgs(node, path: str) -> Iterator[Tuple[str, dict, dict]]:
    """(config path of the module, its Pretrained init_cfg, the module's dict)."""
    if isinstance(node, dict):
        init_cfgs = node.get('init_cfg')
        for init_cfg in init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]:
            if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
                yield path, init_cfg, node
        for key, value in node.items():
            if key != 'init_cfg':
                yield from _pretrained_cfgs(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _pretrained_cfgs(item, f'{path}[{i}]')


def _weights_routes(module: dict, path: str) -> List[str]:
    """Ways to get going without the missing weights, by backbone type."""
    point = f'use a checkpoint you have: --cfg-options {path}.init_cfg.checkpoint=PATH'
    if module.get('type') == 'EPSANet':
        depth = module.get('depth', 50)
        return [f'pre-train them (no official weights exist): bash tools/dist_train.sh '
                f'configs/epsanet/imagenet/epsanet{depth}_8xb32_in1k.py 8',
                point,
                'train from scratch: configs/epsanet/scratch/ (or --cfg-options '
                f'{path}.init_cfg=None {path}.frozen_stages=-1 {path}.norm_eval=False)']
    if module.get('type') == 'VoVNet':
        return ['convert the official weights: python tools/model_converters/'
                'vovnet_detectron2_to_mmattn.py OFFICIAL.pth OUT.pth',
                point,
                f'train from scratch: --cfg-options {path}.init_cfg=None '
                f'{path}.frozen_stages=-1 {path}.norm_eval=False']
    return [point, f'train from scratch: --cfg-options {path}.init_cfg=None']


def weights_problems(cfg: Config) -> Tuple[List[str], List[str]]:
    """(missing local Pretrained checkpoints and load_from, ways forward)."""
    problems, routes = [], []
    for path, init_cfg, module in _pretrained_cfgs(cfg.get('model'), 'model'):
        checkpoint = init_cfg.get('checkpoint')
        if checkpoint and '://' not in str(checkpoint) and not osp.isfile(str(checkpoint)):
            problems.append(f'{path}.init_cfg.checkpoint {str(checkpoint)!r} does not exist')
            routes = routes or _weights_routes(module, path)
    load_from = cfg.get('load_from')
    if load_from and not cfg.get('resume') and '://' not in str(load_from) \
            and not osp.isfile(str(load_from)):
        problems.append(f'load_from {str(load_from)!r} does not exist')
    return problems, routes


def compile_problems(cfg: Config) -> List[str]:
    """``compile=dict(modules=[...])`` naming a part the model config lacks."""
    compile_cfg = cfg.get('compile', None)
    if not isinstance(compile_cfg, dict) or 'modules' not in compile_cfg:
        return []
    problems = []
    for name in compile_cfg['modules']:
        node = cfg.model
        for part in str(name).split('.'):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            parts = ', '.join(k for k, v in cfg.model.items()
                              if isinstance(v, dict) and not k.endswith('_cfg'))
            problems.append(f'compile.modules: the model has no submodule {name!r}; its '
                            f'top-level modules are: {parts}')
    return problems


def preflight(cfg: Config, loaders: List[str], extra: Optional[List[str]] = None) -> None:
    """Raise one UsageError listing every problem found (and, for missing
    weights, the ways forward), or return if there is none."""
    problems, routes = weights_problems(cfg)
    problems = (extra or []) + compile_problems(cfg) + problems + dataset_problems(cfg, loaders)
    if not problems:
        return
    lines = [problems[0]] if len(problems) == 1 and not routes else \
        [f'{len(problems)} problem(s) to fix before this run can start:'] + \
        [f'  - {p}' for p in problems]
    if routes:
        lines.append('For the missing weights, either:')
        lines += [f'  {i}. {route}' for i, route in enumerate(routes, 1)]
    raise UsageError('\n'.join(lines))
