"""Pre-flight checks of run settings in the config: the work dir can be made,
``custom_hooks`` name registered hooks, ``compile.modules`` name parts of the
model. Each returns problems, one line each; nothing is created."""
import os
import os.path as osp
import tempfile
from typing import List

from mmengine.config import Config

from .registered_names import nearest_names_hint, registered_names


def work_dir_problems(cfg: Config) -> List[str]:
    """The work dir is a writable folder, or can be made: tried, and what the
    try made is removed again (permission bits do not tell, e.g. for root)."""
    work_dir = cfg.get('work_dir')
    if not work_dir or '://' in str(work_dir):
        return []
    path = osp.abspath(str(work_dir))
    if osp.exists(path) and not osp.isdir(path):
        return [f'work_dir {work_dir!r} exists and is not a folder; give another --work-dir']
    made = []
    probe = path
    while not osp.exists(probe):
        made.append(probe)
        probe = osp.dirname(probe)
    try:
        for folder in reversed(made):
            os.mkdir(folder)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        where = error.filename or path
        return [f'work_dir {work_dir!r} cannot be used: {error.strerror} ({where}); give '
                'another --work-dir']
    finally:
        for folder in made:
            try:
                os.rmdir(folder)
            except OSError:
                pass
    return []


def custom_hook_problems(cfg: Config) -> List[str]:
    """Each of ``custom_hooks`` is a dict whose ``type`` is a registered hook."""
    hooks = cfg.get('custom_hooks', None)
    if hooks is None:
        return []
    if not isinstance(hooks, (list, tuple)):
        return [f'custom_hooks={hooks!r} is invalid; expected a list of dict(type=...)']
    problems = []
    names = None
    for i, hook in enumerate(hooks):
        if not isinstance(hook, dict) or 'type' not in hook:
            problems.append(f'custom_hooks[{i}]={hook!r} is invalid; expected dict(type=...) '
                            '(--cfg-options cannot build dicts inside a list: set custom_hooks '
                            'in a config file)')
            continue
        kind = hook['type']
        if not isinstance(kind, str):
            continue  # a class given directly
        scope = cfg.get('default_scope', 'mmdet')
        names = names if names is not None else registered_names('hook', scope)
        if kind.split('.')[-1] not in names:
            hint = nearest_names_hint(kind, 'hook', scope)
            problems.append(f'custom_hooks[{i}]: type={kind!r} is not a registered hook{hint}')
    return problems


def compile_problems(cfg: Config) -> List[str]:
    """``compile=dict(modules=[...])`` naming a part the model config lacks."""
    compile_cfg = cfg.get('compile', None)
    if not isinstance(compile_cfg, dict) or 'modules' not in compile_cfg:
        return []
    problems = []
    for name in compile_cfg['modules']:
        node = cfg.model
        for part in str(name).split('.'):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            parts = ', '.join(k for k, v in cfg.model.items()
                              if isinstance(v, dict) and not k.endswith('_cfg'))
            problems.append(f'compile.modules: the model has no submodule {name!r}; its '
                            f'top-level modules are: {parts}')
    return problems
