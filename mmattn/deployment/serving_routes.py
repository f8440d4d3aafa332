"""Routes from an image to detections at batch 1, timed side by side
(``tools/deployment/benchmark_serving.py``, and ``export_detector_onnx.py
--benchmark``): PyTorch (mmdet's ``inference_detector`` path) and an exported
file in a runtime (``OnnxDetector``), each call recording how long its stages
took:

* ``pipeline``: the config's test pipeline (decode/resize/pack);
* ``network``: PyTorch: data preprocessor, model and its post-processing
  (mmdet's ``test_step``, one call); a file: the data preprocessor's
  normalising and padding, then the runtime's run (post-processing in the
  graph);
* ``post``: a file only: boxes to the image's coordinates and mask pasting
  (``OnnxDetector.postprocess``).
"""
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .onnx_detector import OnnxDetector, test_pipeline


def benchmark_picture(image: Optional[str], shape: Sequence[int]) -> np.ndarray:
    """The picture a benchmark times (HxWx3 BGR): ``image`` read from its
    file, or a random one of ``shape`` (H, W)."""
    from mmattn.utils.images import read_image
    if image is not None:
        return read_image(image, f'--image {image!r}')
    return (np.random.default_rng(0).random((*shape, 3)) * 255).astype(np.uint8)


class Route:
    """One way from an image to detections: ``call()`` runs it once and
    returns the number of detections; ``stages`` collects each call's
    seconds per stage; ``detector``: the ``OnnxDetector`` a file route runs
    (None for PyTorch)."""

    def __init__(self, name: str, call: Callable[['Route'], int],
                 detector: Optional[OnnxDetector] = None) -> None:
        self.name = name
        self._call = call
        self.detector = detector
        self.stages: Dict[str, List[float]] = {}
        self.detections = 0

    def record(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.stages.setdefault(stage, []).append(now - start)
        return now

    def __call__(self) -> None:
        self.detections = self._call(self)

    def stage_medians(self) -> Dict[str, float]:
        return {stage: statistics.median(t) for stage, t in self.stages.items()}


def pytorch_route(name: str, model: nn.Module, picture: np.ndarray) -> Route:
    """``inference_detector(model, picture)`` in two timed stages."""
    pipeline = test_pipeline(model.cfg, from_array=True)

    def call(route: Route) -> int:
        start = time.perf_counter()
        data = pipeline(dict(img=picture, img_id=0))
        batch = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
        start = route.record('pipeline', start)
        with torch.no_grad():
            sample = model.test_step(batch)[0]
        route.record('network', start)
        return len(sample.pred_instances)
    return Route(name, call)


def file_route(name: str, detector: OnnxDetector, picture: np.ndarray) -> Route:
    """``detector(picture)`` in three timed stages."""
    def call(route: Route) -> int:
        start = time.perf_counter()
        batch = detector.load([picture])
        start = route.record('pipeline', start)
        inputs, samples = detector.preprocess(batch)
        outputs = detector.run_network(inputs)
        start = route.record('network', start)
        sample = detector.postprocess(outputs, samples)[0]
        route.record('post', start)
        return len(sample.pred_instances)
    return Route(name, call, detector)


def time_routes(routes: List[Route], rounds: int, warmup: int = 2) -> Dict[str, List[float]]:
    """Seconds of each route in each of ``rounds`` rounds, the routes taking
    turns (``analysis.latency.alternating_latency``); the stage records keep
    the timed rounds only."""
    from mmattn.analysis.latency import alternating_latency
    for route in routes:
        for _ in range(warmup):
            route()
        route.stages.clear()
    return alternating_latency({route.name: route for route in routes}, rounds, warmup=0)


def routes_table(routes: List[Route], times: Dict[str, List[float]]) -> List[str]:
    """A markdown table: median ms of each route, its ratio to the first
    (per round, median), its stages' medians and its detections."""
    reference = times[routes[0].name]
    lines = [f'| route | image to detections (ms) | ratio to {routes[0].name} | pipeline (ms) | '
             'network (ms) | post-processing (ms) | detections |',
             '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    for route in routes:
        t = times[route.name]
        ratio = statistics.median(a / b for a, b in zip(t, reference))
        stages = route.stage_medians()
        cells = [f'{1000 * stages[s]:.1f}' if s in stages else '' for s in
                 ('pipeline', 'network', 'post')]
        lines.append(f'| {route.name} | {1000 * statistics.median(t):.1f} | {ratio:.2f} | '
                     f'{" | ".join(cells)} | {route.detections} |')
    return lines
