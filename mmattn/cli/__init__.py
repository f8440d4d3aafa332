"""Command-line entry points: ``mmattn-train`` and ``mmattn-test``
(``tools/train.py`` and ``tools/test.py`` call these).

``config.py`` loads a config with the command's overrides, ``preflight.py``
checks the files a run needs before anything is built, ``distributed.py`` sets
up processes with or without CUDA, ``runner.py`` builds mmattn's runner.
"""
import warnings

# mmengine imports pkg_resources, which setuptools >= 67 deprecates with a
# warning on every start (once per rank under torchrun): noise for a user.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
