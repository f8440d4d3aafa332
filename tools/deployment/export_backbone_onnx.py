"""Export the backbone of a detector config to ONNX and check it with
onnxruntime. See mmattn/cli/export_backbone_onnx.py.

    python tools/deployment/export_backbone_onnx.py CONFIG CHECKPOINT OUT.onnx --dynamic
"""
import sys

from mmattn.cli.export_backbone_onnx import main

if __name__ == '__main__':
    sys.exit(main())
