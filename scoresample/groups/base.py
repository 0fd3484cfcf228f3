"""What a sampler, a metric and the command need to know of a Lie group: its geodesic
step, an embedding for group-invariant kernels, and its uniform (Haar) law.

A target or a score network on a group carries one as its ``group`` attribute; the
samplers then step along ``exp_map`` (ULA and annealed Langevin; the Euclidean samplers
refuse), start from the Haar law, and the sample-quality metrics compare embeddings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """A Lie group's interface to the samplers and metrics.

    Attributes:
        name: e.g. ``"so3"``, ``"torus"`` (as the command and error messages say it).
        exp_map: ``(x, v) -> exp_x(v)`` for a point ``x`` and a tangent ``v`` (same shape).
        embed: ``(n, d) -> (n, k)``: points into ``R^k`` such that Euclidean distance is a
            function of the group distance (kernels on it are invariant).
        uniform: ``(key, n, d) -> (n, d)``: draws of the normalised Haar measure.
    """

    name: str
    exp_map: Callable
    embed: Callable
    uniform: Callable
