"""The single place where mmattn's version is written."""
__version__ = '0.1.0'
