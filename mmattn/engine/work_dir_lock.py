"""One training run per work dir: two runs started into the same work dir
would interleave one log and overwrite each other's checkpoints. The first
process of a run holds an advisory lock (``fcntl.flock``) on a file in the
work dir for as long as it trains; a second run is refused with one message
(by the pre-flight, before anything starts, and again when it would start).
The lock goes with the process, also when it is killed."""
import contextlib
import os
import os.path as osp
import time
from typing import Iterator, Optional

from mmattn.utils.errors import UsageError

LOCK_NAME = '.mmattn-train.lock'


def _try_lock(fd: int) -> bool:
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: str) -> str:
    try:
        with open(path, encoding='utf-8') as f:
            return f.read().strip() or 'another process'
    except OSError:
        return 'another process'


def _busy(work_dir: str, path: str) -> str:
    return (f'work_dir {work_dir!r} is in use by another training run ({_holder(path)}); '
            'wait for it to end, or give this run another --work-dir')


def work_dir_problem(work_dir: Optional[str]) -> Optional[str]:
    """The message if a run holds ``work_dir`` now, else None (checks only)."""
    if not work_dir or '://' in str(work_dir):
        return None
    path = osp.join(str(work_dir), LOCK_NAME)
    if not osp.isfile(path):
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        if _try_lock(fd):
            return None
        return _busy(str(work_dir), path)
    finally:
        os.close(fd)  # (closing releases a lock taken here)


@contextlib.contextmanager
def hold_work_dir(work_dir: Optional[str]) -> Iterator[None]:
    """Hold ``work_dir`` for the block; UsageError if another run holds it."""
    if not work_dir or '://' in str(work_dir):
        yield
        return
    os.makedirs(str(work_dir), exist_ok=True)
    path = osp.join(str(work_dir), LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            raise UsageError(_busy(str(work_dir), path))
        os.ftruncate(fd, 0)
        os.write(fd, f'pid {os.getpid()}, since {time.strftime("%Y-%m-%d %H:%M:%S")}'.encode())
        yield
    finally:
        os.close(fd)
