"""A synthetic COCO-format instance-segmentation dataset of flat shapes
(``shapes.py``): each object's annotation is the exact polygon of what is
visible of it. A fraction of images has no objects. Same seed, same files.
"""
import json
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np
from shapely.ops import unary_union

from mmattn.utils.staged_writes import staged_directory
from .shapes import CLASSES, check_set_arguments, shapes_image

LAYOUTS = ('synthetic', 'coco')
# layout='coco' writes COCO's 80 categories, so that COCO configs run on the set
# unchanged; the four shapes are annotated as these four of them.
COCO_NAMES_OF_SHAPES = {'rectangle': 'book', 'triangle': 'kite', 'circle': 'sports ball',
                        'star': 'frisbee'}


def _annotations(objects, image_id: int, next_ann_id: int,
                 category_ids: List[int]) -> List[dict]:
    anns = []
    for k, parts in objects:
        segmentation = [[round(float(v), 2) for xy in np.asarray(p.exterior.coords)[:-1]
                         for v in xy] for p in parts]
        union = unary_union(parts)
        x0, y0, x1, y1 = union.bounds
        anns.append(dict(id=next_ann_id + len(anns), image_id=image_id,
                         category_id=category_ids[k],
                         segmentation=segmentation, area=float(union.area),
                         bbox=[x0, y0, x1 - x0, y1 - y0], iscrowd=0))
    return anns


def make_synthetic_coco(out_dir: str, num_train: int = 200, num_val: int = 50,
                        image_size: int = 128, max_objects: int = 4,
                        empty_fraction: float = 0.05, min_side: int = 16,
                        max_side: int = 64, seed: int = 0,
                        layout: str = 'synthetic', overwrite: bool = False) -> Dict[str, str]:
    """Write ``train/``, ``val/`` and ``annotations/instances_{train,val}.json``
    under ``out_dir`` (``layout='synthetic'``, categories: the four shapes), or
    COCO 2017's names: ``train2017/``, ``val2017/`` and
    ``annotations/instances_{train,val}2017.json`` with COCO's 80 categories,
    the shapes annotated as four of them (``layout='coco'``; COCO configs run on
    it unchanged). Written to a temporary folder first and moved into place at
    the end, so an interrupted run leaves nothing half-written. An existing
    non-empty ``out_dir`` is refused (UsageError) unless ``overwrite`` is given
    and it holds a set an mmattn maker wrote and nothing else
    (``mmattn.utils.staged_writes``). Returns the annotation file paths."""
    check_set_arguments('make_synthetic_coco', num_train, num_val, image_size, max_objects,
                        min_side, max_side)
    if not 0 <= empty_fraction < 1:
        raise ValueError(f'make_synthetic_coco: empty_fraction={empty_fraction} must be in [0, 1)')
    if layout not in LAYOUTS:
        raise ValueError(f'make_synthetic_coco: layout={layout!r} is invalid; expected one of '
                         f'{LAYOUTS}')
    suffix = '2017' if layout == 'coco' else ''
    if layout == 'coco':
        from mmdet.datasets import CocoDataset
        names = list(CocoDataset.METAINFO['classes'])
        category_ids = [names.index(COCO_NAMES_OF_SHAPES[c]) + 1 for c in CLASSES]
    else:
        names, category_ids = list(CLASSES), [i + 1 for i in range(len(CLASSES))]
    out_dir = osp.abspath(out_dir)
    with staged_directory(out_dir, 'make_synthetic_coco', overwrite) as staging:
        os.makedirs(osp.join(staging, 'annotations'))
        rng = np.random.default_rng(seed)
        categories = [dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(names)]
        for split, count in (('train', num_train), ('val', num_val)):
            os.makedirs(osp.join(staging, split + suffix))
            images, anns = [], []
            for i in range(count):
                img, objects = shapes_image(rng, image_size, max_objects, empty_fraction,
                                            min_side, max_side)
                name = f'{split}_{i:06d}.png'
                cv2.imwrite(osp.join(staging, split + suffix, name), img)
                images.append(dict(id=i + 1, file_name=name, width=image_size, height=image_size))
                anns += _annotations(objects, i + 1, len(anns) + 1, category_ids)
            with open(osp.join(staging, 'annotations', f'instances_{split}{suffix}.json'),
                      'w') as f:
                json.dump(dict(images=images, annotations=anns, categories=categories), f)
    return {split: osp.join(out_dir, 'annotations', f'instances_{split}{suffix}.json')
            for split in ('train', 'val')}
