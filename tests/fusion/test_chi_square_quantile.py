"""The gates' chi-square quantile (`fusion.gating.chi_square_quantile`) is scipy.stats'
``chi2.ppf`` bit for bit, without importing scipy.stats at start (0.27 s a command)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import chi2

from hotzone.fusion.gating import chi_square_quantile


@pytest.mark.parametrize("degrees", [1, 2, 3, 4, 6, 9])
def test_the_quantile_is_scipys(degrees: int) -> None:
    probabilities = [0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, *np.linspace(0.01, 0.99, 37)]
    for probability in probabilities:
        ours = chi_square_quantile(float(probability), degrees)
        assert ours == float(chi2.ppf(probability, degrees)), (probability, degrees)


def test_tracking_imports_no_scipy_stats() -> None:
    code = (
        "import sys, hotzone.fusion, hotzone.commands.plot_tracking;"
        "print('scipy.stats' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
