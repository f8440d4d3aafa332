"""INT8 post-training quantisation of an exported detector, calibrated on the
config's train set (see mmattn/cli/quantize_onnx.py).

    python tools/deployment/quantize_onnx.py CONFIG FP32.onnx OUT.onnx [--calib-images N]
"""
import sys

from mmattn.cli.quantize_onnx import main

if __name__ == '__main__':
    sys.exit(main())
