"""Try mmdeploy's whole-detector ONNX export and say where it stops
(see mmattn/cli/check_mmdeploy.py)."""
import sys

from mmattn.cli.check_mmdeploy import main

if __name__ == '__main__':
    sys.exit(main())
