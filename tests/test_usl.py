"""The USL fit recovers the sigma and kappa that generated a sweep, and says when it cannot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from figures import usl


@pytest.mark.parametrize(
    ("sigma", "kappa"), [(0.05, 0.002), (0.2, 0.0), (0.0, 0.01), (0.0, 0.0), (0.5, 0.05)]
)
def test_fit_recovers_known_sigma_and_kappa(sigma, kappa):
    n = np.array([1, 2, 4, 8, 16, 32])
    x = usl.throughput(n, 12.5, sigma, kappa)
    model = usl.fit(n, x)
    assert model is not None
    assert model.lam == pytest.approx(12.5)
    assert model.sigma == pytest.approx(sigma, abs=1e-9)
    assert model.kappa == pytest.approx(kappa, abs=1e-9)
    assert model.r2 == pytest.approx(1.0)


def test_fit_recovers_them_from_noisy_points():
    rng = np.random.default_rng(7)
    n = np.repeat([1, 2, 3, 4, 6, 8, 12, 16], 5)
    x = usl.throughput(n, 10.0, 0.08, 0.004) * rng.normal(1, 0.01, n.size)
    model = usl.fit(n, x)
    assert model.sigma == pytest.approx(0.08, abs=0.02)
    assert model.kappa == pytest.approx(0.004, abs=0.002)
    assert model.r2 > 0.98


def test_peak_and_knee():
    n = np.array([1, 2, 4, 8, 16])
    model = usl.fit(n, usl.throughput(n, 1.0, 0.1, 0.01))
    assert model.peak_n == pytest.approx(math.sqrt(0.9 / 0.01))
    k = model.knee_n
    gain = usl.throughput(k + 1, 1, 0.1, 0.01) - usl.throughput(k, 1, 0.1, 0.01)
    before = usl.throughput(k, 1, 0.1, 0.01) - usl.throughput(k - 1, 1, 0.1, 0.01)
    assert gain < 0.1 <= before, "the first N where one more worker adds < 10 % of one worker"


def test_linear_points_have_no_peak_and_no_knee_nearby():
    model = usl.fit([1, 2, 4, 8], [5.0, 10.0, 20.0, 40.0])
    assert (model.sigma, model.kappa, model.peak_n) == (0.0, 0.0, None)
    assert model.knee_n is None, "a linear curve never stops adding a whole worker's worth"


def test_negative_coefficient_is_clipped_and_the_other_refitted():
    # Superlinear at first (sigma would come out negative): sigma is clipped, kappa still fitted.
    n = np.array([1, 2, 4, 8])
    x = np.array([1.0, 2.1, 4.0, 6.0])
    model = usl.fit(n, x)
    assert model.sigma == 0.0
    assert model.kappa > 0


def test_fewer_than_four_worker_counts_cannot_be_fitted():
    assert usl.fit([1, 2], [1.0, 2.0]) is None
    assert usl.fit([1, 1, 2, 2], [1.0, 1.0, 2.0, 2.0]) is None
    assert usl.fit([1, 2, 4, 4], [4.77, 6.39, 16.56, 16.0]) is None, "three counts fit exactly"


def test_without_one_worker_lambda_is_the_best_per_worker_throughput():
    n = np.array([2, 4, 8, 16])
    model = usl.fit(n, usl.throughput(n, 3.0, 0.0, 0.0))
    assert model.lam == pytest.approx(3.0)
