"""Backbone export to ONNX (tools/deployment/export_backbone_onnx.py)."""
from .backbone_onnx import (DEFAULT_OPSET, OnnxCheck, compare_with_onnxruntime, export_module,
                            unexportable_blocks)

__all__ = ['DEFAULT_OPSET', 'OnnxCheck', 'compare_with_onnxruntime', 'export_module',
           'unexportable_blocks']
