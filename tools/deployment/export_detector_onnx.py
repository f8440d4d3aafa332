"""Export a whole detector to ONNX, standard operators only, and check it
(see mmattn/cli/export_detector_onnx.py).

    python tools/deployment/export_detector_onnx.py CONFIG CHECKPOINT OUT.onnx --dynamic
"""
import sys

from mmattn.cli.export_detector_onnx import main

if __name__ == '__main__':
    sys.exit(main())
