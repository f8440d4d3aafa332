"""Export wrappers, one per detector family: ``input`` -> detections, as one
graph of standard ONNX operators (``mmattn.deployment.detector_onnx``)."""
from .centermask import CenterMaskExport
from .single_stage import SingleStageExport
from .two_stage import TwoStageExport

__all__ = ['CenterMaskExport', 'SingleStageExport', 'TwoStageExport']
