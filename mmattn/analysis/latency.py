"""Timing alternatives side by side: ``time_interleaved`` runs them taking
turns in every round, so that drifts in machine load affect them alike (the
one timer of mmattn: the benchmark tool's models, and PyTorch against
onnxruntime in the exporters); ``print_latency`` prints medians and the ratio
with the machine line."""
import statistics
import time
from typing import Callable, Dict, List

import torch

from .machine import machine_line


def sync_device(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on a CPU."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def minor_page_faults() -> int:
    """Minor page faults of this process so far (0 where ``resource`` is
    missing, i.e. on Windows)."""
    try:
        import resource
    except ImportError:
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_interleaved(steps: List[Callable[[], None]], device, warmup: int, runs: int,
                     iters: int, page_faults: List[List[float]] = None) -> List[List[float]]:
    """Seconds per iteration of each step in every round (``runs`` rounds of
    ``iters`` iterations), the steps taking turns within every round so that
    drifts in machine load affect them alike. ``page_faults``, if given, gets
    each step's minor page faults per iteration in every round (fresh pages the
    kernel had to map: a cost that shows as system time, not in profiles)."""
    for step in steps:
        for _ in range(warmup):
            step()
    times = [[] for _ in steps]
    if page_faults is not None:
        page_faults[:] = [[] for _ in steps]
    for _ in range(runs):
        for i, step in enumerate(steps):
            sync_device(device)
            faults = minor_page_faults()
            start = time.perf_counter()
            for _ in range(iters):
                step()
            sync_device(device)
            times[i].append((time.perf_counter() - start) / iters)
            if page_faults is not None:
                page_faults[i].append((minor_page_faults() - faults) / iters)
    return times


def alternating_latency(steps: Dict[str, Callable[[], object]], rounds: int,
                        warmup: int = 2) -> Dict[str, List[float]]:
    """Seconds of each named step in each of ``rounds`` rounds (one call per
    round), after ``warmup`` calls of each: ``time_interleaved`` on the CPU."""
    times = time_interleaved(list(steps.values()), torch.device('cpu'), warmup, rounds, 1)
    return dict(zip(steps, times))


def print_latency(times: Dict[str, List[float]], what: str) -> Dict[str, float]:
    """Print each step's median (min, max) in ms and the ratio of the last
    step to the first, with the machine line; returns the medians (s)."""
    import onnxruntime as ort
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
