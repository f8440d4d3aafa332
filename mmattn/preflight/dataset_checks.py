"""Pre-flight checks of the datasets a run reads: folders and files exist, a
COCO-format annotation file is one mmdet can read (and train on), the class
names the config uses are its categories, and the images it lists exist.
Each check returns problems (one line each) and notes; nothing is built."""
import json
import math
import numbers
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

from mmattn.utils.compat import coco_instances
from mmattn.utils.config import limit_from_env
from mmattn.utils.errors import UsageError
from mmattn.utils.images import check_image_file

_CLASSIFICATION_DATASETS = ('ImageNet', 'ImageNet21k', 'CustomDataset')
_SHOWN = 3  # examples named per kind of problem


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


def configured_classes(ds: dict) -> Optional[Tuple[str, ...]]:
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


def _names(items: List[str]) -> str:
    return ', '.join(items[:_SHOWN]) + (' ...' if len(items) > _SHOWN else '')


def _class_problems(loader: str, ds: dict, ann_path: str, categories: List[dict]) -> List[str]:
    classes = configured_classes(ds)
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


# ----------------------------------------------------------- COCO annotations
def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value)


# How far outside its image an annotation's coordinates may reach, as a
# fraction of the image's larger side (rasterising a polygon reaching far out
# allocates without bound, or crashes pycocotools).
ANNOTATION_MARGIN = 1.0
ANNOTATION_MARGIN_ENV = 'MMATTN_ANNOTATION_MARGIN'


def annotation_margin() -> float:
    """``ANNOTATION_MARGIN``, or the value of ``MMATTN_ANNOTATION_MARGIN``."""
    return limit_from_env(ANNOTATION_MARGIN_ENV, ANNOTATION_MARGIN, float, 0,
                          "a number >= 0 (a fraction of the image's larger side)")


def _segmentation_error(seg) -> Optional[str]:
    if isinstance(seg, dict):
        return None if {'counts', 'size'} <= set(seg) else \
            "segmentation is a dict without 'counts' and 'size' (not RLE)"
    if not isinstance(seg, list):
        return f'segmentation is a {type(seg).__name__}, not a list of polygons or RLE'
    for polygon in seg:
        if not isinstance(polygon, list) or not all(_is_number(v) for v in polygon):
            return 'segmentation holds a polygon that is not a list of numbers'
    return None


def _geometry_error(ann: dict, image: dict) -> Optional[str]:
    """Why this annotation's box or polygons do not lie on (or near) its image
    (``annotation_margin``), or a polygon is malformed; None if they do."""
    width, height = image['width'], image['height']
    reach = annotation_margin() * max(width, height)
    x, y, w, h = ann['bbox']
    shapes = [('bbox', [x, x + w], [y, y + h])]
    seg = ann.get('segmentation')
    if isinstance(seg, list):  # (odd or short polygons: skipped by mmdet, noted below)
        shapes += [('a polygon', p[0::2], p[1::2]) for p in seg if len(p) >= 2]
    for what, xs, ys in shapes:
        if min(xs) < -reach or min(ys) < -reach or max(xs) > width + reach \
                or max(ys) > height + reach:
            return (f'{what} lies outside its {width}x{height} image by more than the margin '
                    f'({ANNOTATION_MARGIN_ENV}={annotation_margin():g} of its larger side)')
    return None


def _annotation_error(ann, image_ids: set, category_ids: set) -> Optional[str]:
    """Why mmdet could not read this annotation, or None."""
    if not isinstance(ann, dict):
        return f'is a {type(ann).__name__}, not an object'
    for key in ('image_id', 'category_id', 'bbox', 'area'):
        if key not in ann:
            return f"has no '{key}'"
    bbox = ann['bbox']
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        return f'bbox {bbox!r} is not [x, y, width, height]'
    if not _is_number(ann['area']):
        return f"area {ann['area']!r} is not a number"
    if ann['image_id'] not in image_ids:
        return f"image_id {ann['image_id']!r} is not the id of a listed image"
    if ann['category_id'] not in category_ids:
        return f"category_id {ann['category_id']!r} is not the id of a category"
    if 'segmentation' in ann:
        return _segmentation_error(ann['segmentation'])
    return None


def _annotation_name(ann, index: int) -> str:
    """``annotations[i]`` and, where it has one, its id."""
    has_id = isinstance(ann, dict) and isinstance(ann.get('id'), (int, str))
    return f'annotations[{index}] (id {ann["id"]!r})' if has_id else f'annotations[{index}]'


def _trainable_count(data: dict, with_mask: bool) -> int:
    """How many annotations mmdet trains on: those ``CocoDataset`` keeps
    (its own filter, ``compat.coco_instances``) that are not crowd regions,
    and, where masks are learnt, have a polygon of at least 3 points (else
    mmdet's ``LoadAnnotations`` ignores them)."""
    by_image: dict = {}
    for ann in data['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    category_ids = [c['id'] for c in data['categories']]
    count = 0
    for image in data['images']:
        for instance in coco_instances(image, by_image.get(image['id'], []), category_ids):
            mask = instance.get('mask')
            if instance['ignore_flag'] or (with_mask and isinstance(mask, list) and not any(
                    len(p) >= 6 and len(p) % 2 == 0 for p in mask)):
                continue
            count += 1
    return count


def coco_problems(loader: str, ann_path: str, data, needs_annotations: bool,
                  with_mask: bool) -> Tuple[List[str], List[str]]:
    """(problems, notes) of a COCO-format annotation file's content, with
    every problem that would crash mmdet (or train on nothing) named once."""
    shown = f'{loader}: annotation file {ann_path!r}'
    if not isinstance(data, dict):
        return [f'{shown} holds a JSON {type(data).__name__}; expected an object with '
                '"images", "annotations" and "categories" (COCO format)'], []
    required = ('images', 'annotations', 'categories') if needs_annotations \
        else ('images', 'categories')
    absent = [k for k in required if not isinstance(data.get(k), list)]
    if absent:
        return [f'{shown} has no list {", ".join(repr(k) for k in absent)}; a COCO-format '
                'file has "images", "annotations" and "categories"'], []
    problems = []
    bad_images = [i for i, im in enumerate(data['images'])
                  if not isinstance(im, dict) or not isinstance(im.get('file_name'), str)
                  or 'id' not in im or not _is_number(im.get('width'))
                  or not _is_number(im.get('height')) or im['width'] < 1 or im['height'] < 1]
    if bad_images:
        problems.append(f"{shown}: {len(bad_images)} image record(s) lack 'id', 'file_name', "
                        f"or a finite 'width' and 'height' of at least 1 (e.g. "
                        f'images[{bad_images[0]}])')
    bad_categories = [i for i, c in enumerate(data['categories'])
                      if not isinstance(c, dict) or 'id' not in c or 'name' not in c]
    if bad_categories:
        problems.append(f"{shown}: {len(bad_categories)} categories lack 'id' or 'name' "
                        f'(e.g. categories[{bad_categories[0]}])')
    if problems:
        return problems, []
    images = {im['id']: im for im in data['images']}
    category_ids = {c['id'] for c in data['categories']}
    errors: dict = {}
    for i, ann in enumerate(data.get('annotations') or []):
        error = _annotation_error(ann, images.keys(), category_ids)
        if error is None:
            error = _geometry_error(ann, images[ann['image_id']])
        if error:
            errors.setdefault(error, []).append(_annotation_name(ann, i))
    for error, where in errors.items():
        problems.append(f'{shown}: {len(where)} annotation(s) cannot be read: {error} '
                        f'(e.g. {_names(where)})')
    if problems or loader != 'train_dataloader':
        return problems, []
    anns = data['annotations']
    trainable = _trainable_count(data, with_mask)
    reasons = ('boxes under 1 pixel, of zero area or outside their image, crowd or ignored '
               'regions'
               + (', polygons of fewer than 3 points' if with_mask else ''))
    if anns and not trainable:
        return [f'{shown}: none of its {len(anns)} annotations can be trained on ({reasons}); '
                'training would see no object'], []
    notes = []
    if trainable < len(anns):
        notes.append(f'{shown}: {len(anns) - trainable} of {len(anns)} annotations are skipped '
                     f'in training ({reasons})')
    return problems, notes


def read_json(path: str, shown: str) -> Tuple[object, Optional[str]]:
    """(content, None), or (None, the problem) for a file that is not
    UTF-8 JSON."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f), None
    except UnicodeDecodeError:
        return None, f'{shown} is not UTF-8 text (is it a JSON annotation file?)'
    except RecursionError:
        return None, (f'{shown} nests its values too deeply to be read (a COCO-format file '
                      'is at most a few levels deep)')
    except json.JSONDecodeError as error:
        return None, (f'{shown} is not valid JSON ({error.msg} at line {error.lineno}, '
                      f'column {error.colno})')


def _pipeline_loads_masks(ds: dict) -> bool:
    return any(isinstance(step, dict) and str(step.get('type', '')).endswith('LoadAnnotations')
               and step.get('with_mask') for step in ds.get('pipeline') or [])


# ---------------------------------------------------------------- the checks
def _listed_image_problems(loader: str, ann_path: str, img_dir: str,
                           images: List[dict]) -> List[str]:
    """Every image the annotation file lists exists and has a readable image
    header (Pillow reads the header only, so this stays cheap)."""
    missing, unreadable = [], []
    for im in images:
        path = osp.join(img_dir, im['file_name'])
        if not osp.isfile(path):
            missing.append(path)
            continue
        try:  # a bomb, a file cut off, not an image
            check_image_file(path, repr(path))
        except UsageError as error:
            unreadable.append(str(error))
    problems = []
    if missing:
        problems.append(f'{loader}: {len(missing)} image(s) listed in {ann_path!r} are '
                        f'missing, e.g. {", ".join(repr(p) for p in missing[:3])}')
    if unreadable:
        problems.append(f'{loader}: {len(unreadable)} image(s) listed in {ann_path!r} are not '
                        f'readable as images, e.g. {"; ".join(unreadable[:2])}')
    return problems


def _dataset_annotation_file(cfg: Config, loader: str) -> Optional[str]:
    for ds in _datasets((cfg.get(loader) or {}).get('dataset')):
        ann, root = ds.get('ann_file'), ds.get('data_root') or ''
        if ann:
            return osp.join(root, ann) if not osp.isabs(ann) else ann
    return None


def evaluator_problems(cfg: Config, loaders: List[str]) -> List[str]:
    """The ``val_evaluator``/``test_evaluator`` of each validation or test
    loader: a local ``ann_file`` exists (overriding a dataset's ``data_root``
    with --cfg-options leaves the evaluator's own path behind)."""
    problems = []
    for loader in loaders:
        if loader not in ('val_dataloader', 'test_dataloader') or not cfg.get(loader):
            continue
        key = loader.replace('dataloader', 'evaluator')
        evaluators = cfg.get(key)
        for i, evaluator in enumerate(evaluators if isinstance(evaluators, (list, tuple))
                                      else [evaluators]):
            ann = evaluator.get('ann_file') if isinstance(evaluator, dict) else None
            if not ann or '://' in str(ann) or osp.isfile(str(ann)):
                continue
            where = f'{key}[{i}]' if isinstance(evaluators, (list, tuple)) else key
            dataset_ann = _dataset_annotation_file(cfg, loader)
            hint = (f'; the {loader} reads {dataset_ann!r}: set --cfg-options '
                    f'{where}.ann_file={dataset_ann}' if dataset_ann and osp.isfile(dataset_ann)
                    else f'; set --cfg-options {where}.ann_file=PATH')
            problems.append(f'{where}.ann_file {str(ann)!r} does not exist{hint}')
    return problems


def dataset_problems(cfg: Config, loaders: List[str],
                     max_json_mb: float = 64.0) -> Tuple[List[str], List[str]]:
    """(problems, notes): a missing data_root, annotation file or image folder
    of any dataset the ``loaders`` use; for COCO-format annotation files up to
    ``max_json_mb`` (so not COCO train2017), anything mmdet could not read or
    train on, class names the file lacks, and listed images that are missing or
    not images."""
    problems, notes = [], []
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
                expected = ('a list of images' if ds.get('type') in _CLASSIFICATION_DATASETS
                            else 'a COCO-format JSON')
                problems.append(f'{loader}: annotation file {ann_path!r} does not exist; '
                                f'expected {expected} (ann_file={ann!r} under '
                                f'data_root={root!r})')
                continue
            prefix = _image_prefix(ds)
            img_dir = osp.join(root, prefix) if not osp.isabs(prefix) else prefix
            if '://' in img_dir:
                continue
            if not osp.isdir(img_dir):
                problems.append(f'{loader}: image folder {img_dir!r} does not exist '
                                f'(data_prefix={prefix!r} under data_root={root!r})')
                continue
            if not (ann_path and ann_path.endswith('.json')
                    and osp.getsize(ann_path) <= max_json_mb * 2**20):
                continue
            data, error = read_json(ann_path, f'{loader}: annotation file {ann_path!r}')
            if error:
                problems.append(error)
                continue
            evaluator = cfg.get('test_evaluator') or {}
            format_only = isinstance(evaluator, dict) and evaluator.get('format_only')
            found, found_notes = coco_problems(
                loader, ann_path, data,
                needs_annotations=not (loader == 'test_dataloader' and format_only),
                with_mask=_pipeline_loads_masks(ds))
            notes += found_notes
            if found:
                problems += found
                continue
            problems += _class_problems(loader, ds, ann_path, data['categories'])
            problems += _listed_image_problems(loader, ann_path, img_dir, data['images'])
    problems += evaluator_problems(cfg, loaders)
    return problems, notes
