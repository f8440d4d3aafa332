"""A synthetic classification set in mmpretrain's ImageNet layout.

Each class is a texture (stripes one way or the other, a checkerboard, dots,
rings, a cross-hatch) in random colours, period, phase and noise. Every texture
survives a random crop, a resize and a horizontal flip, so the set stays
learnable under the ImageNet training pipeline. The layout is mmpretrain's::

    OUT/meta/train.txt   "texture_name/train_000000.JPEG LABEL" per line
    OUT/meta/val.txt     "val_000000.JPEG LABEL" per line
    OUT/train/texture_name/*.JPEG
    OUT/val/*.JPEG

so ``dict(type='ImageNet', data_root=OUT, split='train')`` reads it as it reads
ImageNet. Same seed, same files; written to a temporary folder and moved into
place at the end.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np

from mmattn.utils.staged_writes import staged_directory

TEXTURES = ('horizontal_stripes', 'vertical_stripes', 'checkerboard', 'dots', 'rings',
            'cross_hatch')


def _texture(kind: str, size: int, period: float, phase: np.ndarray) -> np.ndarray:
    """A [0, 1] pattern of ``size`` x ``size``."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    y, x = y + phase[0], x + phase[1]
    wave = lambda t: (np.sin(2 * np.pi * t / period) > 0).astype(np.float64)  # noqa: E731
    if kind == 'horizontal_stripes':
        return wave(y)
    if kind == 'vertical_stripes':
        return wave(x)
    if kind == 'checkerboard':
        return np.logical_xor(wave(x), wave(y)).astype(np.float64)
    if kind == 'dots':
        dy = (y % period) - period / 2
        dx = (x % period) - period / 2
        return (dx ** 2 + dy ** 2 < (period / 4) ** 2).astype(np.float64)
    if kind == 'rings':
        cy, cx = size / 2 + phase[0] % period, size / 2 + phase[1] % period
        return wave(np.hypot(y - cy, x - cx))
    if kind == 'cross_hatch':
        return np.maximum(wave(x + y), wave(x - y))
    raise ValueError(f'unknown texture {kind!r}; expected one of {TEXTURES}')


def _image(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    period = rng.uniform(size / 10, size / 4)
    pattern = _texture(kind, size, period, rng.uniform(0, period, 2))[..., None]
    fg, bg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    while np.abs(fg.astype(int) - bg).sum() < 150:  # keep the pattern visible
        fg = rng.integers(0, 256, 3)
    img = pattern * fg + (1 - pattern) * bg + rng.normal(0, 12, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_synthetic_imagenet(out_dir: str, num_classes: int = 6, train_per_class: int = 100,
                            val_per_class: int = 25, image_size: int = 64,
                            seed: int = 0, overwrite: bool = False) -> Dict[str, str]:
    """Write the set under ``out_dir`` and return the paths of
    ``meta/train.txt`` and ``meta/val.txt``. An existing non-empty ``out_dir``
    is refused unless ``overwrite`` is given and it holds a set an mmattn maker
    wrote and nothing else (``mmattn.utils.staged_writes``)."""
    import cv2
    if not isinstance(num_classes, int) or not 2 <= num_classes <= len(TEXTURES):
        raise ValueError(f'make_synthetic_imagenet: num_classes={num_classes!r} must be an '
                         f'integer in [2, {len(TEXTURES)}] (one class per texture: {TEXTURES})')
    for arg, value, low in (('train_per_class', train_per_class, 1),
                            ('val_per_class', val_per_class, 1),
                            ('image_size', image_size, 16)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f'make_synthetic_imagenet: {arg}={value!r} must be an integer '
                             f'>= {low}')
    out_dir = osp.abspath(out_dir)
    with staged_directory(out_dir, 'make_synthetic_imagenet', overwrite) as staging:
        rng = np.random.default_rng(seed)
        os.makedirs(osp.join(staging, 'meta'))
        os.makedirs(osp.join(staging, 'val'))
        train_lines, val_lines = [], []
        for label, kind in enumerate(TEXTURES[:num_classes]):
            os.makedirs(osp.join(staging, 'train', kind))
            for i in range(train_per_class):
                name = f'{kind}/train_{label * train_per_class + i:06d}.JPEG'
                cv2.imwrite(osp.join(staging, 'train', name), _image(rng, kind, image_size),
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
                train_lines.append(f'{name} {label}')
        # ImageNet's val folder is flat and its files do not name the class.
        val_labels = np.repeat(np.arange(num_classes), val_per_class)
        for i, label in enumerate(rng.permutation(val_labels)):
            name = f'val_{i:06d}.JPEG'
            cv2.imwrite(osp.join(staging, 'val', name),
                        _image(rng, TEXTURES[label], image_size),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            val_lines.append(f'{name} {label}')
        for split, lines in (('train', train_lines), ('val', val_lines)):
            with open(osp.join(staging, 'meta', f'{split}.txt'), 'w', encoding='utf-8') as f:
                f.write('\n'.join(lines) + '\n')
    return {split: osp.join(out_dir, 'meta', f'{split}.txt') for split in ('train', 'val')}
