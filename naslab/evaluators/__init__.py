"""Evaluators answer queries: tabular lookup, real training, or a surrogate model."""

from naslab.evaluators.base import Evaluator

__all__ = ["Evaluator"]
