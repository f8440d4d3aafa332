"""mmattn's commands. Each lives in a module here with a ``main(argv=None)``;
``tools/**/*.py`` and the ``mmattn-*`` console scripts only call it.

``command.py`` holds what every command shares (the parser, ``--cfg-options``,
one-line errors printed once per launch); ``preflight.py`` (with
``config_checks``, ``model_checks`` and ``dataset_checks``) checks a run
before anything is built; ``distributed.py`` sets up processes with or
without CUDA; ``runner.py`` builds mmattn's runner.
"""
