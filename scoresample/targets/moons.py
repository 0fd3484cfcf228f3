"""The two-moons density: the data of :func:`scoresample.two_moons` as a target.

``two_moons(key, n, noise)`` puts points on two half circles and adds
``N(0, noise^2 I)``; its density is the curve measure convolved with that Gaussian,
``p(x) = 1/2 int_0^pi [N(x; c_1(u), s^2 I) + N(x; c_2(u), s^2 I)] du / pi``. With the
integral replaced by the midpoint rule on ``m`` points per moon it is an equal-weight
Gaussian mixture, so it has an exact score, exact samples and exact noised marginals.
The rule's error is negligible once the spacing ``pi / m`` is well below ``noise``.
"""

from __future__ import annotations

import numpy as np

from .._validate import positive, positive_int
from .mixture import GaussianMixture


def two_moons_target(noise: float = 0.1, points_per_moon: int = 200) -> GaussianMixture:
    """Two moons of ``two_moons(..., noise)`` as a mixture of ``2 m`` Gaussians.

    The outer moon is ``(cos u, sin u)``, the inner ``(1 - cos u, 1/2 - sin u)``,
    ``u`` in ``[0, pi]``, each with half the mass.

    Example:
        >>> t = two_moons_target(0.1)
        >>> t.dim, t.n_components
        (2, 400)
    """
    positive(noise, "two_moons.noise")
    m = positive_int(points_per_moon, "two_moons.points_per_moon")
    u = (np.arange(m) + 0.5) * np.pi / m
    outer = np.stack([np.cos(u), np.sin(u)], axis=1)
    inner = np.stack([1.0 - np.cos(u), 0.5 - np.sin(u)], axis=1)
    means = np.concatenate([outer, inner])
    return GaussianMixture(np.full(2 * m, 1.0 / (2 * m)), means, noise)
