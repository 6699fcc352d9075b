"""Training here runs scikit-learn on one OpenMP thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="package", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    """scikit-learn's histogram gradient boosting runs an OpenMP thread per core. On the
    2-core test machine, busy with the rest of the suite, those threads wait for each other:
    ``hotzone train --quick``'s fit took 30 s of wall time (16 s of CPU) with them and 2.4 s
    with one, and the fitted model is the same (same JSON, byte for byte)."""
    # The OpenMP runtime is loaded with scikit-learn's compiled modules; threadpoolctl can
    # only limit a runtime that is loaded.
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield
