"""Command-line entry points: ``mmattn-train`` and ``mmattn-test``
(``tools/train.py`` and ``tools/test.py`` call these)."""
