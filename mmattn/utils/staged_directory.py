"""Write a folder, or a file, completely or not at all."""
import contextlib
import os
import os.path as osp
import shutil
import tempfile
from typing import Iterator


@contextlib.contextmanager
def staged_directory(out_dir: str) -> Iterator[str]:
    """Yield a temporary folder beside ``out_dir``; when the block ends
    normally it replaces ``out_dir`` (whatever was there), and when it raises
    (or is interrupted) it is removed, so ``out_dir`` is never half-written."""
    out_dir = osp.abspath(out_dir)
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}_', dir=parent)
    try:
        yield staging
        if osp.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextlib.contextmanager
def staged_file(path: str, suffix: str = '.part') -> Iterator[str]:
    """Yield a temporary path beside ``path`` to write to; when the block ends
    normally it is renamed to ``path``, and when it raises (or is interrupted)
    it is removed, so ``path`` is either complete or untouched."""
    path = osp.abspath(path)
    os.makedirs(osp.dirname(path), exist_ok=True)
    staging = path + suffix  # created by the writer, so with the usual permissions
    try:
        yield staging
        os.replace(staging, path)
    finally:
        if osp.exists(staging):
            os.remove(staging)
