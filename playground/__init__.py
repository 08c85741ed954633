"""Playground: build, train and watch neural networks by hand."""

__version__ = "0.1.0"
