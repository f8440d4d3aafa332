"""Opening images users hand us: one pixel limit for every image mmattn opens
(an image bomb, a small file that decodes to gigabytes, is refused from its
header before anything is decoded), and a check that a JPEG or PNG file is
whole (a file cut off while being copied decodes to grey or fails mid-epoch).
"""
import os
import os.path as osp
from typing import Tuple

import numpy as np

from .config import limit_from_env
from .errors import UsageError

# The most pixels (width x height) of an image mmattn opens: 2**27, e.g.
# 16384 x 8192, an 8-bit RGB array of 384 MiB. Raise it with the environment
# variable below.
MAX_IMAGE_PIXELS = 2**27
MAX_IMAGE_PIXELS_ENV = 'MMATTN_MAX_IMAGE_PIXELS'


def max_image_pixels() -> int:
    """``MAX_IMAGE_PIXELS``, or the value of ``MMATTN_MAX_IMAGE_PIXELS``."""
    return limit_from_env(MAX_IMAGE_PIXELS_ENV, MAX_IMAGE_PIXELS, int, 1,
                          'a positive integer (pixels)')


def pixel_limit_problem(width: int, height: int, shown: str) -> str:
    """The message for an image over the limit, or '' for one within it."""
    limit = max_image_pixels()
    if width * height <= limit:
        return ''
    return (f'{shown} is {width}x{height} = {width * height} pixels, more than the limit of '
            f'{limit} (an image bomb?); if the image is genuine, raise the limit with '
            f'{MAX_IMAGE_PIXELS_ENV}={width * height}')


def _ends_whole(path: str, kind: str) -> bool:
    """A JPEG ends with its end-of-image marker, a PNG with its IEND chunk
    (read from the file's last bytes only)."""
    with open(path, 'rb') as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 16))
        tail = f.read().rstrip(b'\0')
    return tail.endswith(b'\xff\xd9') if kind == 'JPEG' else tail.endswith(b'IEND\xaeB`\x82')


def check_image_file(path: str, shown: str = '', whole: bool = True) -> Tuple[int, int]:
    """(width, height) of the image file at ``path``, read from its header;
    raises UsageError, naming it as ``shown``, for a missing file, one that is
    not an image, one over the pixel limit and, with ``whole``, a JPEG or PNG
    that is cut off (decoded in full only when its last bytes do not tell)."""
    from PIL import Image, UnidentifiedImageError
    shown = shown or f'image {path!r}'
    if not osp.isfile(path):
        raise UsageError(f'{shown} does not exist')
    pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # ours decides
    try:
        with Image.open(path) as image:
            width, height, kind = image.width, image.height, image.format
            problem = pixel_limit_problem(width, height, shown)
            if problem:
                raise UsageError(problem)
            if whole and kind in ('JPEG', 'PNG') and not _ends_whole(path, kind):
                image.load()  # raises OSError ("truncated") when it is cut off
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise UsageError(f'{shown} could not be read as an image') from None
    except (OSError, SyntaxError, ValueError) as error:
        raise UsageError(f'{shown} is incomplete or damaged ({error})') from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    return width, height


def read_image(path: str, shown: str = '') -> np.ndarray:
    """The image at ``path`` as mmcv reads it (BGR, uint8), after
    ``check_image_file``."""
    import mmcv
    check_image_file(path, shown)
    try:
        image = mmcv.imread(path)
    except Exception:  # noqa: BLE001  (cv2/pillow say it in many ways)
        image = None
    if image is None:
        raise UsageError(f'{shown or f"image {path!r}"} could not be read as an image')
    return image
