"""What mmattn knows about an ONNX file before running it: whether mmattn's
exporters wrote it (a ``written_by`` entry in the model's metadata, so that a
re-export may replace it and nothing else is overwritten), and the input
shape it was exported for (static sizes must match what the config's test
pipeline makes)."""
from typing import Optional, Sequence

from mmattn.utils.errors import UsageError
from mmattn.utils.staged_writes import check_output_file

WRITTEN_BY_KEY = 'written_by'
WRITTEN_BY = 'mmattn'


def tag_written_by_mmattn(model_bytes: bytes) -> bytes:
    """The serialised model with ``written_by=mmattn`` in its metadata."""
    import onnx
    model = onnx.load_from_string(model_bytes)
    del model.metadata_props[:]
    model.metadata_props.add(key=WRITTEN_BY_KEY, value=WRITTEN_BY)
    return model.SerializeToString()


def written_by_mmattn(path: str) -> bool:
    """Whether the file at ``path`` is an ONNX model mmattn's exporters wrote
    (read without its external data); False for anything else."""
    import onnx
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception:  # noqa: BLE001  (protobuf says it in many ways)
        return False
    return any(p.key == WRITTEN_BY_KEY and p.value == WRITTEN_BY for p in model.metadata_props)


def check_onnx_output(path: str, overwrite: bool, inputs: Sequence[str] = ()) -> None:
    """The checks every command that writes an ONNX file OUT makes before any
    work: the name ends with ``.onnx``, OUT is not one of ``inputs``, its folder
    can be written, and an existing OUT is replaced only if mmattn wrote it or
    ``overwrite`` (``--overwrite``) is given. Raises UsageError."""
    if not path.endswith('.onnx'):
        raise UsageError(f'OUT {path!r} must end with .onnx')
    check_output_file(path, f'OUT {path!r}', overwrite=overwrite, inputs=inputs,
                      owned=written_by_mmattn)


def input_problem(declared: Sequence, shape: Sequence[int], shown: str) -> Optional[str]:
    """Why a file whose input was declared ``declared`` (ints for fixed sizes,
    names or None for symbolic ones; ``runtimes``' ``input_shape``) cannot
    take an input of ``shape`` (N, C, H, W: what the config's test pipeline
    and data preprocessor made), or None."""
    declared = list(declared)
    if len(declared) != len(shape) or any(isinstance(d, int) and d != s
                                          for d, s in zip(declared, shape)):
        shown_shape = 'x'.join(str(d) for d in declared)
        return (f'{shown} was exported for an input of {shown_shape} (N x C x H x W), but the '
                f'test pipeline makes {"x".join(map(str, shape))}; export it with --dynamic, or '
                f'with --shape {shape[2]} {shape[3]} and a pipeline of that fixed size')
    return None


def check_input(declared: Sequence, shape: Sequence[int], shown: str) -> None:
    """``input_problem`` as a UsageError."""
    problem = input_problem(declared, shape, shown)
    if problem:
        raise UsageError(problem)
