"""Jacobian covariance (Mellor et al., "Neural architecture search without training",
ICML 2021, first version of the paper), as used by Abdelfattah et al. 2021.

``J`` = the gradient of the sum of the network's outputs with respect to each input
image, flattened (``[B, C*H*W]``); ``Sigma`` its correlation matrix over the batch with
eigenvalues ``lambda``; score = ``-sum(log(lambda + k) + 1 / (lambda + k))`` with
``k = 1e-5`` (higher = the images' Jacobians are less correlated). BatchNorm in training
mode. ``eigvalsh`` is used because the matrix is symmetric (the reference's ``eig`` gives
the same values up to rounding, sometimes as complex numbers).
Reference read: SamsungLabs/zero-cost-nas ``foresight/pruners/measures/jacob_cov.py``
and automl/NASLib ``naslib/predictors/utils/pruners/measures/jacov.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from naslab.zero_cost.base import Batch, ProxySpec

SPEC = ProxySpec("jacob_cov", data_independent=False,
                 reference="SamsungLabs/zero-cost-nas foresight/pruners/measures/jacob_cov.py")
K = 1e-5


def input_jacobian(net: Any, batch: Batch) -> np.ndarray:
    """``[B, C*H*W]`` float64: d sum(net(x)) / d x per image."""
    import torch

    x = batch.inputs.clone().requires_grad_(True)
    net.zero_grad()
    y = net(x)
    y.backward(torch.ones_like(y))
    if x.grad is None:  # the output does not depend on the input (a cell that outputs zeros)
        return np.zeros((x.shape[0], x[0].numel()))
    return x.grad.detach().reshape(x.shape[0], -1).double().numpy()


def compute(net: Any, batch: Batch) -> float:
    jacobian = input_jacobian(net, batch)
    if not np.all(jacobian.std(axis=1) > 0):
        return float("nan")  # an image's Jacobian is constant: the correlation is undefined
    values = np.linalg.eigvalsh(np.corrcoef(jacobian))
    return float(-np.sum(np.log(values + K) + 1.0 / (values + K)))
