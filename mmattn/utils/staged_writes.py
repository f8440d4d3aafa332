"""Write a file, or a folder, completely or not at all; make it durable before
it is published; and never delete or overwrite what mmattn did not make.

A folder mmattn writes (``staged_directory``) carries ``MADE_BY_MMATTN``, a
list of the files it wrote with their sizes and sha256. Only such a folder,
holding nothing else (no other file, folder or link, and its files as
written), is ever replaced, and only when the caller asks
(``overwrite=True``). Commands that write into a folder that may hold other
files (``publish_files_into``) list theirs there too, and replace only those.
"""
import contextlib
import errno
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Iterator, List, Optional, Sequence

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


def check_output_file(path: str, shown: str, *, overwrite: bool = False,
                      inputs: Sequence[str] = (), owned: Optional[Callable[[str], bool]] = None,
                      flag: str = '--overwrite') -> None:
    """Before a command writes the file ``path`` (named ``shown``, e.g.
    "DST 'x.pth'"): raise UsageError, before any work is done, when it is a
    folder, when it is one of the command's ``inputs`` (the same path or the
    same file under another name), when its folder cannot be written, or when
    it exists and is not a file this command wrote (``owned(path)``), unless
    ``overwrite`` (the command's ``flag``) is given."""
    for source in inputs:
        if osp.abspath(source) == osp.abspath(path) or (
                osp.exists(source) and osp.exists(path) and osp.samefile(source, path)):
            raise UsageError(f'{shown} is the input {source!r} itself; give another output '
                             'path (nothing was written)')
    if osp.isdir(path):
        raise UsageError(f'{shown} is an existing folder; give a file path')
    parent = osp.dirname(osp.abspath(path))
    probe = parent
    while not osp.exists(probe):
        probe = osp.dirname(probe)
    if not osp.isdir(probe) or not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f'{shown} cannot be written: {probe!r} is not a writable folder')
    if osp.lexists(path) and not overwrite and not (owned is not None and owned(path)):
        raise UsageError(f'{shown} already exists and was not written by this command; give '
                         f'another path, or {flag} to replace it')


def _listed_files(folder: str) -> dict:
    """What ``folder``'s ``MADE_BY_MMATTN`` lists: {relative path: record}
    (record: size and sha256, or None in markers of older makers)."""
    try:
        with open(osp.join(folder, MADE_BY_MMATTN), encoding='utf-8') as f:
            files = json.load(f)['files']
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if isinstance(files, dict):
        return dict(files)
    return {name: None for name in files if isinstance(name, str)} \
        if isinstance(files, list) else {}


def sha256_of(path: str) -> str:
    """The hex sha256 of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(2**20), b''):
            digest.update(block)
    return digest.hexdigest()


def _record(path: str) -> dict:
    return {'size': osp.getsize(path), 'sha256': sha256_of(path)}


def _unchanged(folder: str, name: str, record: Optional[dict]) -> bool:
    """The file ``name`` in ``folder`` is a plain file as mmattn wrote it."""
    path = osp.join(folder, name)
    if osp.islink(path) or not osp.isfile(path):
        return False
    return record is None or _record(path) == record


def publish_files_into(staging: str, out_dir: str, maker: str, overwrite: bool = False,
                       flag: str = '--overwrite') -> List[str]:
    """Move the files written into ``staging`` into ``out_dir`` (made if
    needed), a command's output folder that may hold other files: an existing
    file of the same name is replaced only if ``out_dir``'s ``MADE_BY_MMATTN``
    lists it, unchanged, or with ``overwrite``. Everything is checked before
    anything moves (UsageError: nothing written); the marker then lists the
    files. Returns their paths in ``out_dir``."""
    names = _files_under(staging)
    listed = _listed_files(out_dir) if osp.isdir(out_dir) else {}
    clashes = [n for n in names if osp.lexists(osp.join(out_dir, n))
               and not (n in listed and _unchanged(out_dir, n, listed[n]))]
    if clashes and not overwrite:
        raise UsageError(f'{out_dir!r} already holds {len(clashes)} file(s) this command would '
                         f'replace and mmattn did not write (e.g. {", ".join(clashes[:3])}); '
                         f'nothing was written. Give another folder, or {flag} to replace them')
    records = {n: _record(osp.join(staging, n)) for n in names}
    for name in names:
        target = osp.join(out_dir, name)
        os.makedirs(osp.dirname(target), exist_ok=True)
        if osp.isdir(target) and not osp.islink(target):
            raise UsageError(f'{target!r} is a folder; nothing more was written')
        publish(osp.join(staging, name), target)
    listed.update(records)
    with staged_file(osp.join(out_dir, MADE_BY_MMATTN)) as partial:
        with open(partial, 'w', encoding='utf-8') as f:
            json.dump({'maker': maker, 'files': listed}, f, indent=1)
    return [osp.join(out_dir, n) for n in names]


def _files_under(folder: str) -> List[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            found.append(osp.relpath(osp.join(root, name), folder))
    return found


def _foreign_entries(folder: str, listed: dict) -> List[str]:
    """What in ``folder`` mmattn did not write as it is now: files not listed
    (or changed since), links, and folders holding no listed file."""
    keep = {MADE_BY_MMATTN}
    needed_dirs = {osp.dirname(name) for name in listed}
    needed_dirs |= {d for name in needed_dirs for d in _parents(name)}
    foreign = []
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs) + sorted(files):
            path = osp.join(root, name)
            rel = osp.relpath(path, folder)
            if osp.islink(path):
                foreign.append(f'{rel} (a link)')
            elif osp.isdir(path):
                if rel not in needed_dirs:
                    foreign.append(f'{rel}/ (a folder)')
            elif rel not in keep and not (rel in listed and _unchanged(folder, rel, listed[rel])):
                foreign.append(rel if rel not in listed else f'{rel} (changed)')
    return foreign


def _parents(rel: str) -> List[str]:
    parts = rel.split(os.sep)
    return [os.sep.join(parts[:i]) for i in range(1, len(parts))]


def _replaceable(out_dir: str, maker: str, overwrite: bool, flag: str) -> bool:
    """Whether ``out_dir`` may be replaced: absent or empty (True: nothing to
    keep), or mmattn's own, unchanged, and ``overwrite`` given. Raises
    UsageError otherwise, saying why."""
    if not osp.lexists(out_dir):
        return True
    if not osp.isdir(out_dir) or osp.islink(out_dir):
        raise UsageError(f'{out_dir!r} exists and is not a folder; give another output folder')
    if osp.ismount(out_dir):
        raise UsageError(f'{out_dir!r} is a mount point, which cannot be replaced by a new '
                         'folder; give a folder inside it')
    if not any(os.scandir(out_dir)):
        return True
    marker = osp.join(out_dir, MADE_BY_MMATTN)
    if not overwrite:
        raise UsageError(f'{out_dir!r} already exists and is not empty; give a new folder'
                         + (f', or {flag} to replace a set {maker} wrote there'
                            if osp.isfile(marker) else ''))
    listed = _listed_files(out_dir)
    if not listed:
        raise UsageError(f'{out_dir!r} was not written by {maker} (no readable '
                         f'{MADE_BY_MMATTN} in it); {flag} replaces only folders mmattn made. '
                         'Give a new folder')
    foreign = _foreign_entries(out_dir, listed)
    if foreign:
        raise UsageError(f'{out_dir!r} holds {len(foreign)} thing(s) mmattn did not write '
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
    try:  # a folder that cannot be written is found now, not after the work
        os.makedirs(parent, exist_ok=True)
        _remove_stale_staging(parent, base)
        staging = tempfile.mkdtemp(prefix=f'.{base}{_STAGING_TAG}{os.getpid()}-', dir=parent)
    except OSError as error:
        raise UsageError(f'{out_dir!r} cannot be written: {error.strerror} '
                         f'({error.filename or parent}); give another output folder') from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    retired = None
    try:
        yield staging
        files = {name: _record(osp.join(staging, name)) for name in _files_under(staging)}
        with open(osp.join(staging, MADE_BY_MMATTN), 'w', encoding='utf-8') as f:
            json.dump({'maker': maker, 'files': files}, f, indent=1)
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
