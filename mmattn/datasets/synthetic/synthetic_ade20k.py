"""A synthetic semantic-segmentation set in ADE20K's layout, of the flat
shapes of ``shapes.py``, for trying mmseg configs without ADE20K::

    OUT/images/{training,validation}/*.jpg
    OUT/annotations/{training,validation}/*.png   (one label per pixel)

Labels follow ADE20K's files, which mmseg reads with ``reduce_zero_label``:
0 is "unlabelled" (ignored), the background is 1 (class 0 after the
reduction) and the four shapes 2..5 (classes 1..4). Same seed, same files.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np

from mmattn.utils.staged_writes import staged_directory
from .shapes import check_set_arguments, shapes_image

BACKGROUND_LABEL = 1


def make_synthetic_ade20k(out_dir: str, num_train: int = 200, num_val: int = 50,
                          image_size: int = 128, max_objects: int = 4, min_side: int = 16,
                          max_side: int = 64, seed: int = 0,
                          overwrite: bool = False) -> Dict[str, str]:
    """Write the set under ``out_dir`` (new or empty; ``overwrite`` as for
    ``make_synthetic_coco``) and return the image folders of both splits."""
    import cv2
    check_set_arguments('make_synthetic_ade20k', num_train, num_val, image_size, max_objects,
                        min_side, max_side)
    out_dir = osp.abspath(out_dir)
    with staged_directory(out_dir, 'make_synthetic_ade20k', overwrite) as staging:
        rng = np.random.default_rng(seed)
        for split, count in (('training', num_train), ('validation', num_val)):
            os.makedirs(osp.join(staging, 'images', split))
            os.makedirs(osp.join(staging, 'annotations', split))
            for i in range(count):
                img, objects = shapes_image(rng, image_size, max_objects, 0.0, min_side,
                                            max_side)
                label = np.full(img.shape[:2], BACKGROUND_LABEL, np.uint8)
                for kind, parts in objects:
                    polygons = [np.round(np.asarray(p.exterior.coords)).astype(np.int32)
                                for p in parts]
                    cv2.fillPoly(label, polygons, BACKGROUND_LABEL + 1 + kind)
                name = f'ADE_{split}_{i:08d}'
                cv2.imwrite(osp.join(staging, 'images', split, name + '.jpg'), img,
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
                cv2.imwrite(osp.join(staging, 'annotations', split, name + '.png'), label)
    return {split: osp.join(out_dir, 'images', split) for split in ('training', 'validation')}
