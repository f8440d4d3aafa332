"""onnxruntime with and without its worker threads spinning after a run,
side by side with OpenVINO and PyTorch (docs/deployment.md, "Serving on a
CPU"): the trained demo CenterMask-Lite at 128 px by default.

    python .dev_scripts/ort_spinning.py [CONFIG CHECKPOINT FP32.onnx IMAGE ROUNDS]

The fp32 file: ``bash .dev_scripts/serving_figures.sh demo`` writes it.
"""
import sys

import onnxruntime as ort

import mmattn  # noqa: F401
from mmattn.analysis.machine import machine_line
from mmattn.cli.detector_loading import load_detector
from mmattn.deployment.onnx_detector import OnnxDetector
from mmattn.deployment.serving_routes import (benchmark_picture, file_route, pytorch_route,
                                              routes_table, time_routes)

DEFAULTS = ['configs/demo/centermask-lite_vovnet19_slim_dw_synthetic.py',
            'work_dirs/demo_centermask/epoch_24.pth',
            'work_dirs/serving/speed_demo_centermask-lite/fp32.onnx',
            'data/synthetic_coco/val/val_000003.png', '20']


def main() -> None:
    config, checkpoint, onnx_file, image, rounds = sys.argv[1:6] if len(sys.argv) > 5 \
        else DEFAULTS
    picture = benchmark_picture(image, None)
    model = load_detector(config, checkpoint, None, 'cpu', purpose='export')
    quiet = OnnxDetector(onnx_file, model.cfg, backend='onnxruntime')  # mmattn's default
    spinning = OnnxDetector(onnx_file, model.cfg, backend='onnxruntime')
    spinning.session.session = ort.InferenceSession(  # onnxruntime's default options
        onnx_file, ort.SessionOptions(), providers=['CPUExecutionProvider'])
    openvino = OnnxDetector(onnx_file, model.cfg, backend='openvino')
    routes = [pytorch_route('PyTorch fp32', model, picture),
              file_route('onnxruntime fp32, spinning', spinning, picture),
              file_route('onnxruntime fp32, not spinning', quiet, picture),
              file_route('OpenVINO fp32', openvino, picture)]
    times = time_routes(routes, int(rounds))
    print(f'{config}, image {picture.shape[0]}x{picture.shape[1]}, {rounds} rounds taking turns')
    print(f'machine: {machine_line()}')
    print('\n'.join(routes_table(routes, times)))


if __name__ == '__main__':
    main()
