"""Export to ONNX: backbones (tools/deployment/export_backbone_onnx.py) and
whole detectors with their post-processing (export_detector_onnx.py), run
back by onnxruntime as mmdet predictions (``OnnxDetector``)."""
from .agreement import Agreement
from .backbone_onnx import (DEFAULT_OPSET, OnnxCheck, compare_with_onnxruntime, export_module,
                            unexportable_blocks)
from .detector_onnx import export_detector, exportable, foreign_domains
from .onnx_detector import OnnxDetector

__all__ = ['DEFAULT_OPSET', 'OnnxCheck', 'compare_with_onnxruntime', 'export_module',
           'unexportable_blocks', 'export_detector', 'exportable', 'foreign_domains',
           'OnnxDetector', 'Agreement']
