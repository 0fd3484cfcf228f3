"""Denoising score matching (DSM) and its stabilised form DSM-S.

Per example, ``y = alpha x + sigma eps`` and
``DSM = 1/2 |s(y, t) + eps / sigma|^2 = norm + fitting + |eps|^2 / (2 sigma^2)`` with
``norm = 1/2 |s|^2`` and ``fitting = <s, eps / sigma>``. The last term does not depend on
the network, but its variance grows like ``d / sigma^4``; DSM-S drops it and reports
``norm + fitting`` (Artemev et al. 2024, Eq. 9), so losses stay comparable across noise
levels. Multi-noise DSM (NCSN) is DSM with ``t`` drawn from a set of levels and the
``sigma^2`` weighting, the default here.
"""

from __future__ import annotations

import equinox as eqx

from .._types import Position, PRNGKey, Scalar, ScoreFn
from ._base import LossOutput, Objective, perturb, regression


class DSM(Objective):
    """Denoising score matching: regress ``s(y, t)`` on ``-eps / sigma(t)``.

    ``loss = 1/2 |s(alpha x + sigma eps, t) + eps / sigma|^2``, minimised by the noised
    score ``grad log p_t``; ``E[DSM] - E[ISM] = d / (2 sigma^2)`` for any network.

    Args:
        process: the noise process.
        weighting: ``lambda(process, t)``, applied by the training step (default
            ``sigma^2``, the NCSN weighting; uniform at a ``FixedLevel``).
        drop_constant: if True, DSM-S: the loss is ``norm + fitting`` without the
            network-independent ``|eps|^2 / (2 sigma^2)``.

    References:
        Vincent (2011), A connection between score matching and denoising autoencoders,
        Neural Computation, Sec. 4.2; Song & Ermon (2019), Generative modeling by
        estimating gradients of the data distribution, Eq. 5-6; Artemev et al. (2024),
        Eq. 9 (DSM-S).

    Example:
        >>> loss = DSM(VE(0.01, 10.0))
        >>> value, aux = loss(model, x, 0.3, key)   # aux: {"norm", "fitting"}
    """

    drop_constant: bool = eqx.field(default=False, static=True, kw_only=True)

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        y, eps, _, sigma = perturb(self.process, x, t, key)
        return regression(score_fn(y, t), -eps / sigma, with_constant=not self.drop_constant)


def dsm_s(process, **options) -> DSM:
    """DSM-S: :class:`DSM` without the constant ``|eps|^2 / (2 sigma^2)``; its value is
    ``norm + fitting`` (Artemev et al. 2024, Eq. 9)."""
    return DSM(process, drop_constant=True, **options)
