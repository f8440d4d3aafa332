"""Write a file, or a folder, completely or not at all; make it durable before
it is published; and never delete or overwrite what mmattn did not make.

A folder mmattn writes (``staged_directory``) carries ``MADE_BY_MMATTN``, a
list of the files it wrote. Only such a folder, holding nothing else, is ever
replaced, and only when the caller asks (``overwrite=True``).
"""
import contextlib
import errno
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Iterator, List

from .errors import UsageError

MADE_BY_MMATTN = '.made-by-mmattn.json'
_STAGING_TAG = '.mmattn-staging-'


def fsync_path(path: str) -> None:
    """Flush a file's (or a folder's entries') data to the disk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) if osp.isdir(path)
                 else os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:  # some file systems cannot sync folders
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def publish(staging: str, path: str) -> None:
    """Rename the finished ``staging`` file to ``path`` after its data reached
    the disk, then sync the folder, so that a power loss cannot leave an
    incomplete file under ``path``."""
    fsync_path(staging)
    os.replace(staging, path)
    fsync_path(osp.dirname(osp.abspath(path)))


@contextlib.contextmanager
def staged_file(path: str, suffix: str = '.part') -> Iterator[str]:
    """Yield a temporary path beside ``path`` to write to; when the block ends
    normally it is published as ``path`` (``publish``), and when it raises (or
    is interrupted) it is removed, so ``path`` is either complete or untouched."""
    path = osp.abspath(path)
    os.makedirs(osp.dirname(path), exist_ok=True)
    staging = path + suffix  # created by the writer, so with the usual permissions
    try:
        yield staging
        publish(staging, path)
    finally:
        if osp.exists(staging):
            os.remove(staging)


def _files_under(folder: str) -> List[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            found.append(osp.relpath(osp.join(root, name), folder))
    return found


def _replaceable(out_dir: str, maker: str, overwrite: bool, flag: str) -> bool:
    """Whether ``out_dir`` may be replaced: absent or empty (True: nothing to
    keep), or mmattn's own and ``overwrite`` given. Raises UsageError
    otherwise, saying why."""
    if not osp.lexists(out_dir):
        return True
    if not osp.isdir(out_dir) or osp.islink(out_dir):
        raise UsageError(f'{out_dir!r} exists and is not a folder; give another output folder')
    present = _files_under(out_dir)
    if not present and not any(os.scandir(out_dir)):
        return True
    marker = osp.join(out_dir, MADE_BY_MMATTN)
    if not overwrite:
        raise UsageError(f'{out_dir!r} already exists and is not empty; give a new folder'
                         + (f', or {flag} to replace a set {maker} wrote there'
                            if osp.isfile(marker) else ''))
    try:
        with open(marker, encoding='utf-8') as f:
            listed = set(json.load(f)['files'])
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f'{out_dir!r} was not written by {maker} (no readable '
                         f'{MADE_BY_MMATTN} in it); {flag} replaces only folders mmattn made. '
                         'Give a new folder') from None
    foreign = [p for p in present if p not in listed and p != MADE_BY_MMATTN]
    if foreign:
        raise UsageError(f'{out_dir!r} holds {len(foreign)} file(s) mmattn did not write '
                         f'(e.g. {", ".join(foreign[:3])}); nothing was replaced. Move them '
                         'away or give a new folder')
    cwd = osp.realpath(os.getcwd())
    if cwd == osp.realpath(out_dir) or cwd.startswith(osp.realpath(out_dir) + os.sep):
        raise UsageError(f'{out_dir!r} holds the current folder; run from elsewhere to '
                         'replace it')
    return True


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(parent: str, base: str) -> None:
    """Staging folders of this output left by a process that no longer runs
    (killed with SIGKILL, say): they are mmattn's own, so they go."""
    prefix = f'.{base}{_STAGING_TAG}'
    for entry in os.scandir(parent):
        if not entry.name.startswith(prefix) or not entry.is_dir(follow_symlinks=False):
            continue
        pid = entry.name[len(prefix):].split('-')[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(out_dir: str, maker: str, overwrite: bool = False,
                     flag: str = '--overwrite') -> Iterator[str]:
    """Yield a new folder beside ``out_dir`` to write into; when the block
    ends normally it becomes ``out_dir``, listed in ``MADE_BY_MMATTN``;
    when it raises or is interrupted it is removed, so ``out_dir`` is never
    half-written. ``out_dir`` may be absent or empty; a non-empty one is
    refused (UsageError) unless ``overwrite`` is given and it holds exactly
    what ``maker`` (or another mmattn maker) wrote there before. The new
    folder has the usual permissions (umask)."""
    out_dir = osp.abspath(out_dir)
    parent, base = osp.dirname(out_dir), osp.basename(out_dir)
    _replaceable(out_dir, maker, overwrite, flag)
    os.makedirs(parent, exist_ok=True)
    _remove_stale_staging(parent, base)
    staging = tempfile.mkdtemp(prefix=f'.{base}{_STAGING_TAG}{os.getpid()}-', dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    retired = None
    try:
        yield staging
        with open(osp.join(staging, MADE_BY_MMATTN), 'w', encoding='utf-8') as f:
            json.dump({'maker': maker, 'files': _files_under(staging)}, f, indent=1)
        for root, _, files in os.walk(staging):
            for name in files:
                fsync_path(osp.join(root, name))
            fsync_path(root)
        _replaceable(out_dir, maker, overwrite, flag)  # unchanged since the start?
        if osp.isdir(out_dir) and os.listdir(out_dir):
            retired = tempfile.mkdtemp(prefix=f'.{base}{_STAGING_TAG}{os.getpid()}-old-',
                                       dir=parent)
            os.replace(out_dir, osp.join(retired, base))
        os.replace(staging, out_dir)
        fsync_path(parent)
    finally:
        if osp.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
