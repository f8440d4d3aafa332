"""Evaluate an exported detector (box and mask AP) on a config's test set
(see mmattn/cli/test_onnx.py).

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx [--show-dir DIR]
"""
import sys

from mmattn.cli.test_onnx import main

if __name__ == '__main__':
    sys.exit(main())
