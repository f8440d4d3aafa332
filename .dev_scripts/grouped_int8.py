"""EPSANet's grouped convolutions in INT8 or kept fp32, side by side in both
runtimes (docs/deployment.md, "Serving on a CPU"): two INT8 files of the same
fp32 export, the second quantised with ``--keep-fp32`` naming every ``Conv``
with ``group > 1``.

    python .dev_scripts/grouped_int8.py CONFIG CHECKPOINT INT8.onnx INT8_GROUPED_FP32.onnx [ROUNDS]

``bash .dev_scripts/serving_figures.sh coco faster-rcnn-epsa50`` writes the
checkpoint and the first file; the second: ``quantize_onnx.py`` with
``--keep-fp32`` and the names this script prints with ``--names FP32.onnx``.
"""
import sys

import mmattn  # noqa: F401
from mmattn.analysis.machine import machine_line
from mmattn.cli.detector_loading import load_detector
from mmattn.deployment.detection_limits import override_detection_limits
from mmattn.deployment.onnx_detector import OnnxDetector
from mmattn.deployment.serving_routes import (benchmark_picture, file_route, routes_table,
                                              time_routes)


def grouped_convolutions(path: str) -> list:
    import onnx
    model = onnx.load(path, load_external_data=False)
    return [n.name for n in model.graph.node if n.op_type == 'Conv' and
            any(a.name == 'group' and a.i > 1 for a in n.attribute)]


def main() -> None:
    if sys.argv[1] == '--names':
        print(' '.join(grouped_convolutions(sys.argv[2])))
        return
    config, checkpoint, int8, grouped_fp32 = sys.argv[1:5]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    picture = benchmark_picture(None, (800, 1333))
    model = load_detector(config, checkpoint, None, 'cpu', purpose='export')
    override_detection_limits(model, 0.0, None)
    routes = []
    for backend in ('onnxruntime', 'openvino'):
        for name, path in (('INT8', int8), ('INT8, grouped convolutions fp32', grouped_fp32)):
            routes.append(file_route(f'{backend} {name}', OnnxDetector(path, model.cfg,
                                                                       backend=backend), picture))
    times = time_routes(routes, rounds)
    print(f'{config}, image 800x1333, {rounds} rounds taking turns; machine: {machine_line()}')
    print('\n'.join(routes_table(routes, times)))


if __name__ == '__main__':
    main()
