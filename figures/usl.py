"""Gunther's Universal Scalability Law, fitted to a sweep's points with NumPy least squares.

    X(N) = lambda*N / (1 + sigma*(N-1) + kappa*N*(N-1))

sigma (contention) is the share of the work that serialises, kappa (coherency) the cost of
workers keeping each other in step; lambda is one worker's throughput. With C(N) = X(N)/lambda
the law is linear in sigma and kappa:  N/C(N) - 1 = sigma*(N-1) + kappa*N*(N-1)  (Gunther,
*Guerrilla Capacity Planning*, ch. 5), so an ordinary least-squares solve (`numpy.linalg.lstsq`,
no intercept) fits it, with no iterative optimiser to tune or to fail. lambda is X(1) when the
sweep measured one worker, else the largest X(N)/N.

Both coefficients are physically non-negative; a negative one (noise on a near-linear sweep) is
clipped to 0 and the other refitted alone. R^2 is computed on X itself, not on the linearised
form, so it says how well the curve drawn matches the points drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: The fewest distinct worker counts a fit is evidence from. lambda pins one point, and sigma
#: and kappa are two free parameters: through three points the curve passes exactly, R^2 = 1
#: whatever the system does; a fourth is the first that can disagree with the law.
MIN_POINTS = 4

#: The knee: the first N at which one more worker adds less than this share of what one worker
#: delivers alone (X(N+1) - X(N) < KNEE_GAIN * X(1)). Relative to X(N) instead, even a perfectly
#: linear curve would "knee" at N = 10 (11/10 is a 10 % gain).
KNEE_GAIN = 0.10

#: The knee is looked for up to this many times the largest N measured: further out it would be
#: an extrapolation the points cannot support.
KNEE_REACH = 4


@dataclass(frozen=True)
class UslFit:
    lam: float
    sigma: float
    kappa: float
    r2: float
    #: Where X(N) peaks: sqrt((1 - sigma)/kappa), when kappa > 0.
    peak_n: float | None
    #: The first whole N where X(N+1) - X(N) < KNEE_GAIN * lambda.
    knee_n: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def throughput(n: np.ndarray | float, lam: float, sigma: float, kappa: float) -> np.ndarray:
    """X(N) of the law."""
    n = np.asarray(n, dtype=float)
    result: np.ndarray = lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
    return result


def _solve(columns: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    solution: np.ndarray = np.linalg.lstsq(np.column_stack(columns), y, rcond=None)[0]
    return solution


def _coefficients(n: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a, b = n - 1, n * (n - 1)
    sigma, kappa = _solve([a, b], y)
    if sigma < 0 and kappa < 0:
        return 0.0, 0.0
    if sigma < 0:
        return 0.0, max(0.0, float(_solve([b], y)[0]))
    if kappa < 0:
        return max(0.0, float(_solve([a], y)[0])), 0.0
    return float(sigma), float(kappa)


def knee(lam: float, sigma: float, kappa: float, limit: int = 4096) -> int | None:
    """The first N where one more worker adds less than KNEE_GAIN of one worker's throughput
    (None below `limit`)."""
    n = np.arange(1, limit + 1, dtype=float)
    x = throughput(n, lam, sigma, kappa)
    low_gain = np.nonzero(np.diff(x) < KNEE_GAIN * lam)[0]
    return int(n[low_gain[0]]) if low_gain.size else None


def fit(workers: Sequence[float], throughputs: Sequence[float]) -> UslFit | None:
    """The law fitted to (N, X(N)) points; None with fewer than MIN_POINTS distinct N."""
    n = np.asarray(workers, dtype=float)
    x = np.asarray(throughputs, dtype=float)
    keep = (n >= 1) & (x > 0) & np.isfinite(x)
    n, x = n[keep], x[keep]
    if len(np.unique(n)) < MIN_POINTS:
        return None
    ones = x[n == 1]
    lam = float(ones.mean()) if ones.size else float((x / n).max())
    capacity = x / lam
    sigma, kappa = _coefficients(n, n / capacity - 1)
    predicted = throughput(n, lam, sigma, kappa)
    total = float(((x - x.mean()) ** 2).sum())
    r2 = 1 - float(((x - predicted) ** 2).sum()) / total if total > 0 else 1.0
    peak = math.sqrt((1 - sigma) / kappa) if kappa > 0 and sigma < 1 else None
    return UslFit(lam, sigma, kappa, r2, peak, knee(lam, sigma, kappa, KNEE_REACH * int(n.max())))


def curve(model: UslFit, up_to: float, steps: int = 100) -> dict[str, list[float]]:
    """The fitted X(N) from 1 to `up_to`, for a chart."""
    n = np.linspace(1, max(up_to, 1), steps)
    return {
        "n": n.round(3).tolist(),
        "x": throughput(n, model.lam, model.sigma, model.kappa).tolist(),
    }
