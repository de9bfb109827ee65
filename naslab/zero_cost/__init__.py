"""Zero-cost proxies: score an untrained architecture from a few forward/backward passes.

One module per proxy (``synflow``, ``jacob_cov``, ``nwot``, ``snip``, ``grasp``,
``fisher``, ``grad_norm``, ``l2_norm``, ``plain``, ``zen``, ``epe_nas``, ``params``,
``flops``), each citing its paper and the reference code it follows; :mod:`.base` holds
the scorer that builds the network and the batch. See docs/zero_cost.md.

    from naslab.zero_cost import score
    score("|nor_conv_3x3~0|+|...", proxy="synflow", dataset="cifar10")   # -> ProxyScore
"""

from naslab.zero_cost.base import PROXY_NAMES, ProxyScore, ZeroCostError, ZeroCostScorer, proxy_spec, score

__all__ = ["PROXY_NAMES", "ProxyScore", "ZeroCostError", "ZeroCostScorer", "proxy_spec", "score"]
