import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

# Reproducible, and quiet: most tests build small models on 2 cores.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope='session', autouse=True)
def _mmdet_scope():
    """Stock mmdet behaviour: modules registered and 'mmdet' the default scope."""
    from mmdet.utils import register_all_modules

    import mmattn  # noqa: F401
    register_all_modules(init_default_scope=True)


REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def installed(tmp_path_factory):
    """mmattn built from a copy of the tracked files, installed non-editable
    (``pip install --target``): put it first on PYTHONPATH to use it."""
    root = tmp_path_factory.mktemp('install')
    src, target = root / 'src', root / 'site'
    files = subprocess.run(['git', 'ls-files'], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        dst = src / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if osp.islink(osp.join(REPO, name)):
            os.symlink(os.readlink(osp.join(REPO, name)), dst)
        else:
            dst.write_bytes(open(osp.join(REPO, name), 'rb').read())
    proc = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                           '--no-build-isolation', '--target', str(target), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return target


# Skip reasons that are expected where CI runs (a CPU-only machine with every
# extra installed). With MMATTN_NO_UNEXPECTED_SKIPS=1 (set by .ci/run), any
# other skip fails the run: a test that did not run is not a test that passed.
EXPECTED_SKIP_REASONS = (
    'CUDA present',  # CPU-only behaviour, checked on machines without CUDA
)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get('MMATTN_NO_UNEXPECTED_SKIPS') != '1':
        return
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    skipped = reporter.stats.get('skipped', []) if reporter else []
    unexpected = []
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(expected in reason for expected in EXPECTED_SKIP_REASONS):
            unexpected.append(f'{report.nodeid}: {reason}')
    if unexpected:
        reporter.write_line(f'MMATTN_NO_UNEXPECTED_SKIPS=1: {len(unexpected)} test(s) skipped '
                            'for a reason CI does not accept:', red=True)
        for line in unexpected:
            reporter.write_line(f'  {line}', red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
