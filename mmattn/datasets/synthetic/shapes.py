"""Scenes of flat shapes (rectangle, triangle, 24-gon "circle", 5-point star)
in random colours on a textured background, with the exact polygons of what
is visible of each (a later shape covers an earlier one; placements that would
punch a hole, which polygons cannot express, are redrawn). Shared by the
synthetic COCO-format and ADE20K-layout sets."""
from typing import List

import cv2
import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union

CLASSES = ('rectangle', 'triangle', 'circle', 'star')


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


def shapes_image(rng: np.random.Generator, size: int, max_objects: int,
                 empty_fraction: float, min_side: int, max_side: int):
    """A ``size`` x ``size`` BGR image of up to ``max_objects`` shapes on a
    textured background (none with probability ``empty_fraction``), and the
    objects as (class index, visible polygons)."""
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


def check_set_arguments(maker: str, num_train: int, num_val: int, image_size: int,
                        max_objects: int, min_side: int, max_side: int) -> None:
    """The ValueError a shapes-set maker raises for a count below 1 or shape
    sides that do not fit the image, naming the maker and the argument."""
    for arg, value in (('num_train', num_train), ('num_val', num_val),
                       ('image_size', image_size), ('max_objects', max_objects)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{maker}: {arg}={value!r} must be an integer >= 1')
    if not 0 < min_side <= max_side < image_size:
        raise ValueError(f'{maker}: need 0 < min_side={min_side} <= '
                         f'max_side={max_side} < image_size={image_size}')
