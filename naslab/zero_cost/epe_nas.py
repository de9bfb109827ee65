"""EPE-NAS (Lopes et al., "EPE-NAS: efficient performance estimation without training
for neural architecture search", ICANN 2021), for classification.

The input Jacobians of :mod:`naslab.zero_cost.jacob_cov` are grouped by label; for each
class ``c`` with at least two images, ``s_c = sum log(|corr(J_c)| + 1e-5)`` over its
correlation matrix; with at most 100 classes the score is ``sum_c |s_c|`` (the paper's
variant B; above 100 classes the reference uses pairwise differences and so do we).
Batch 128 images (the NASWOT code EPE-NAS builds on).
Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/epe_nas.py``
(from VascoLopes/EPE-NAS ``search.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from naslab.zero_cost.base import Batch, ProxySpec
from naslab.zero_cost.jacob_cov import input_jacobian

SPEC = ProxySpec("epe_nas", data_independent=False, batch_size=128,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/epe_nas.py")
K = 1e-5


def compute(net: Any, batch: Batch) -> float:
    jacobian = input_jacobian(net, batch)
    labels = batch.targets.numpy()
    per_class = {}
    for c in np.unique(labels):
        rows = jacobian[labels == c]
        if rows.shape[0] < 2 or not np.all(rows.std(axis=1) > 0):
            continue  # the reference skips classes whose correlation cannot be computed
        per_class[int(c)] = float(np.sum(np.log(np.abs(np.corrcoef(rows)) + K)))
    if not per_class:
        return float("nan")
    values = np.asarray(list(per_class.values()))
    if batch.num_classes <= 100:
        return float(np.sum(np.abs(values)))
    return float(np.abs(values[:, None] - values[None, :]).sum() / len(values))
