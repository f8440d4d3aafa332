"""Latency of alternatives taking turns (PyTorch against onnxruntime): each
round runs every alternative once, so that drifts in machine load affect them
alike; medians and the ratio are printed with the machine line."""
import statistics
import time
from typing import Callable, Dict, List


def alternating_latency(steps: Dict[str, Callable[[], object]], rounds: int,
                        warmup: int = 2) -> Dict[str, List[float]]:
    """Seconds of each step in each of ``rounds`` rounds, after ``warmup``
    calls of each."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: Dict[str, List[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return times


def print_latency(times: Dict[str, List[float]], what: str) -> Dict[str, float]:
    """Print each step's median (min, max) in ms and the ratio of the last
    step to the first, with the machine line; returns the medians (s)."""
    import onnxruntime as ort

    from .benchmark import machine_line
    rounds = len(next(iter(times.values())))
    print(f'{what}, {rounds} rounds taking turns; {machine_line()}, onnxruntime '
          f'{ort.__version__} (default threads):')
    for name, values in times.items():
        ms = [1000 * v for v in values]
        print(f'  {name:<12} median {statistics.median(ms):8.1f} ms  '
              f'(min {min(ms):.1f}, max {max(ms):.1f})')
    medians = {name: statistics.median(values) for name, values in times.items()}
    first, last = list(medians)[0], list(medians)[-1]
    print(f'  {last} / {first} = {medians[last] / medians[first]:.2f}')
    return medians
