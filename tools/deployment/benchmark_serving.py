"""Image to detections at batch 1 on the CPU: PyTorch, onnxruntime and
OpenVINO, fp32 and INT8, side by side (see mmattn/cli/benchmark_serving.py).

    python tools/deployment/benchmark_serving.py CONFIG CHECKPOINT [--int8 FILE] [--shape H W]
"""
import sys

from mmattn.cli.benchmark_serving import main

if __name__ == '__main__':
    sys.exit(main())
