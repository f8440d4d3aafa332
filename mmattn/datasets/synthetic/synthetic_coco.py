"""A synthetic COCO-format instance-segmentation dataset of flat shapes.

Each object is a polygon (rectangle, triangle, 24-gon "circle", 5-point star)
in a random colour on a textured background. Objects may overlap: a later
object is drawn on top, and an earlier object's annotation is its polygon
minus the later ones (placements that would punch a hole, which COCO polygons
cannot express, are redrawn). Masks are therefore exact polygons of the
visible region. A fraction of images has no objects. Same seed, same files.
"""
import json
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union

from mmattn.utils.staged_writes import staged_directory

CLASSES = ('rectangle', 'triangle', 'circle', 'star')
LAYOUTS = ('synthetic', 'coco')
# layout='coco' writes COCO's 80 categories, so that COCO configs run on the set
# unchanged; the four shapes are annotated as these four of them.
COCO_NAMES_OF_SHAPES = {'rectangle': 'book', 'triangle': 'kite', 'circle': 'sports ball',
                        'star': 'frisbee'}


def _shape_polygon(rng: np.random.Generator, kind: str, size: int,
                   min_side: int, max_side: int) -> np.ndarray:
    side = rng.uniform(min_side, max_side)
    cx, cy = rng.uniform(side / 2, size - side / 2, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    if kind == 'rectangle':
        w, h = side, side * rng.uniform(0.5, 1.0)
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    elif kind == 'triangle':
        t = np.array([0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(-0.3, 0.3, 3)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * side / 2
    elif kind == 'circle':
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * side / 2
    else:  # star
        t = np.linspace(0, 2 * np.pi, 10, endpoint=False)
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45) * side / 2
        pts = np.stack([np.cos(t) * r, np.sin(t) * r], 1)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = pts @ rot.T + [cx, cy]
    return np.clip(pts, 0, size - 1)


def _visible_parts(own: Polygon, later: List[Polygon]):
    """Polygons of ``own`` not covered by ``later``; None if a hole appears."""
    visible = own.difference(unary_union(later)) if later else own
    parts = [visible] if isinstance(visible, Polygon) else \
        list(visible.geoms) if isinstance(visible, MultiPolygon) else []
    parts = [p for p in parts if isinstance(p, Polygon) and p.area > 1.0]
    if any(len(p.interiors) for p in parts):
        return None
    return parts


def _make_image(rng: np.random.Generator, size: int, max_objects: int,
                empty_fraction: float, min_side: int, max_side: int):
    img = np.full((size, size, 3), rng.integers(40, 90, 3), np.uint8)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    if rng.random() < empty_fraction:
        return img, []
    for _attempt in range(20):
        n = int(rng.integers(1, max_objects + 1))
        kinds = rng.integers(0, len(CLASSES), n)
        polys = [_shape_polygon(rng, CLASSES[k], size, min_side, max_side) for k in kinds]
        shapely_polys = [Polygon(p) for p in polys]
        visible = [_visible_parts(p, shapely_polys[i + 1:]) for i, p in enumerate(shapely_polys)]
        if all(v is not None for v in visible):
            break
    else:
        return img, []
    objects = []
    for k, pts, parts in zip(kinds, polys, visible):
        colour = tuple(int(c) for c in rng.integers(120, 256, 3))
        cv2.fillPoly(img, [np.round(pts).astype(np.int32)], colour, lineType=cv2.LINE_8)
        if parts:
            objects.append((int(k), parts))
    return img, objects


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
    for arg, value in (('num_train', num_train), ('num_val', num_val),
                       ('image_size', image_size), ('max_objects', max_objects)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'make_synthetic_coco: {arg}={value!r} must be an integer >= 1')
    if not 0 < min_side <= max_side < image_size:
        raise ValueError(f'make_synthetic_coco: need 0 < min_side={min_side} <= '
                         f'max_side={max_side} < image_size={image_size}')
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
                img, objects = _make_image(rng, image_size, max_objects, empty_fraction,
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
