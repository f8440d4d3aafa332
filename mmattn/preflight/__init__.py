"""Everything checked before a run is built, reported at once in a few lines
a user can act on, instead of a traceback per rank: run settings
(``config_checks``), the model and the weights it loads (``model_checks``),
and the datasets and evaluators (``dataset_checks``); ``run.preflight`` runs
them all. ``tools/dist_*.sh`` run it once per launch, before the processes
start; the commands in ``mmattn/cli`` run it before building a runner."""
from .dataset_checks import dataset_problems
from .run import preflight

__all__ = ['dataset_problems', 'preflight']
