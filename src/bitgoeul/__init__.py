"""Bitgoeul: the open platform that runs an AI hub city."""

__version__ = "0.1.0"
