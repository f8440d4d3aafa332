"""The type names a config can use, to suggest the nearest ones for a typo."""
import difflib
from typing import List


def registered_names(kind: str, scope: str) -> List[str]:
    """Every name a config of ``scope`` (e.g. 'mmdet') can give as ``type`` for
    a registry ``kind`` ('model', 'hook'...): the root's, the scope's and
    mmattn's."""
    from mmengine import registry as root

    from mmattn.utils.compat import walk_registry_children
    registry = getattr(root, kind.upper() + 'S', None)
    if registry is None:
        return []
    names = set(registry.module_dict)
    for child in walk_registry_children(registry):
        if child.scope == scope:
            child.import_from_location()
        if child.scope in (scope, 'mmattn'):
            names |= set(child.module_dict)
    return sorted(names)


def nearest_names_hint(name: str, kind: str, scope: str) -> str:
    """``'; did you mean 'A' or 'B'?'`` for the registered names closest to
    ``name``, or ``''``."""
    close = difflib.get_close_matches(name, registered_names(kind, scope), n=3, cutoff=0.6)
    return f'; did you mean {" or ".join(repr(c) for c in close)}?' if close else ''
