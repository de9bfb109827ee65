"""naslab: a lab for neural architecture search research."""

__version__ = "0.1.0"


def _apply_thread_policy() -> None:
    # before anything numeric loads: one thread per library (naslab.threads says why)
    import warnings

    from naslab import threads

    try:
        threads.apply_policy()
    except ValueError as exc:  # a bad NASLAB_THREADS must not make `import naslab` fail
        warnings.warn(f"{exc}; using {threads.DEFAULT_THREADS} thread", stacklevel=3)
        threads.set_threads(threads.DEFAULT_THREADS)


_apply_thread_policy()
