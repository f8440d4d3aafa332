"""Whole detectors to ONNX: the normalised, padded batch in (``input``, as the
config's data preprocessor makes it), detections out, post-processing
included, standard ONNX operators only.

Outputs (mmdeploy's names; K = the config's ``max_per_img``):

* ``dets`` (N, K, 5): x1, y1, x2, y2 in ``input`` pixels, then the score
  (CenterMask: the box score); rows past an image's detections are 0;
* ``labels`` (N, K) int64: class index, -1 past an image's detections;
* ``masks`` (N, K, M, M) (Mask R-CNN, CenterMask): each detection's mask
  probabilities (sigmoid) of its class on its box, M = the mask head's size
  (28), to be pasted into the image (``OnnxDetector`` does);
* ``mask_scores`` (N, K) (CenterMask with MaskIoU): box score times the
  predicted mask IoU, the score for mask AP.

Route: mmattn's own post-processing (``exportable/``) through torch's
TorchScript exporter, with NMS and RoIAlign as ``NonMaxSuppression`` and
``RoiAlign`` (``onnx_ops``); docs/deployment.md says why not mmdeploy.
"""
import io
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn

from mmattn.utils.compat import onnx_opset_range
from mmattn.utils.errors import UsageError
from mmattn.utils.staged_writes import staged_file
from .backbone_onnx import DEFAULT_OPSET, onnx_bytes
from .onnx_files import tag_written_by_mmattn

STANDARD_DOMAINS = ('', 'ai.onnx')
SUPPORTED = ('FCOS (FCOSHead), RetinaNet (RetinaHead), Faster R-CNN and Mask R-CNN (RPNHead + '
             'StandardRoIHead), CenterMask and CenterMask-Lite')


def exportable(detector: nn.Module) -> nn.Module:
    """The export wrapper of ``detector`` (in eval mode); UsageError naming
    the detector type and what is supported if there is none."""
    from mmdet.models.dense_heads import FCOSHead, RetinaHead
    from mmdet.models.detectors import SingleStageDetector, TwoStageDetector

    from mmattn.models.detectors import CenterMask
    from .exportable.centermask import CenterMaskExport
    from .exportable.single_stage import SingleStageExport
    from .exportable.two_stage import TwoStageExport
    if isinstance(detector, CenterMask):
        wrapper = CenterMaskExport(detector)
    elif isinstance(detector, TwoStageDetector):
        wrapper = TwoStageExport(detector)
    elif isinstance(detector, SingleStageDetector) and \
            isinstance(detector.bbox_head, (FCOSHead, RetinaHead)):
        wrapper = SingleStageExport(detector)
    else:
        head = getattr(detector, 'bbox_head', None)
        what = type(detector).__name__ + (f' with {type(head).__name__}' if head else '')
        raise UsageError(f'{what} cannot be exported as a whole detector; supported: '
                         f'{SUPPORTED}')
    return wrapper.eval()


def check_opset(opset: int, wrapper: nn.Module) -> None:
    low, high = wrapper.min_opset, onnx_opset_range()[1]
    if not low <= opset <= high:
        why = 'RoiAlign with half_pixel' if low >= 16 else 'NonMaxSuppression with TopK'
        raise UsageError(f'--opset {opset} cannot express {type(wrapper.detector).__name__}; '
                         f'valid: {low}..{high} ({why} needs {low})')


def foreign_domains(onnx_file) -> List[str]:
    """The operators of the file outside the standard ONNX domain, as
    'domain::Op' (empty for a file any ONNX runtime runs without plugins)."""
    import onnx
    model = onnx.load(onnx_file)
    return sorted({f'{n.domain}::{n.op_type}' for n in model.graph.node
                   if n.domain not in STANDARD_DOMAINS})


def export_detector(detector: nn.Module, out_file: str, shape: Sequence[int],
                    dynamic: bool = True, opset: int = DEFAULT_OPSET) -> Tuple[str, ...]:
    """Write ``detector`` to ``out_file`` for input ``shape`` (N, 3, H, W).
    The file appears only when the export has succeeded and holds standard
    operators only. Returns the output names. UsageError for a detector, an
    operator or an opset that cannot be exported."""
    wrapper = exportable(detector)
    check_opset(opset, wrapper)
    names = tuple(wrapper.output_names)
    axes = None
    if dynamic:
        axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({name: {0: 'batch'} for name in names})
    example = torch.randn(*shape)
    try:
        model = onnx_bytes(wrapper, example, names, axes, opset)
    except torch.onnx.errors.OnnxExporterError as error:  # an operator without an ONNX form
        first = str(error).strip().splitlines()[0]
        raise UsageError(f'{type(detector).__name__} cannot be exported with opset {opset}: '
                         f'{first}') from None
    foreign = foreign_domains(io.BytesIO(model))
    if foreign:
        raise UsageError(f'the export of {type(detector).__name__} uses operators outside the '
                         f'standard ONNX domain ({", ".join(foreign)}); nothing written')
    with staged_file(out_file) as staging:
        with open(staging, 'wb') as f:
            f.write(tag_written_by_mmattn(model))
    return names
