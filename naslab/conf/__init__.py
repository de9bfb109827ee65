"""naslab's Hydra configs; a package so that Hydra finds them as ``pkg://naslab.conf`` in any install."""
