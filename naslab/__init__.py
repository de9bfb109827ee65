"""naslab: a lab for neural architecture search research."""

__version__ = "0.1.0"
