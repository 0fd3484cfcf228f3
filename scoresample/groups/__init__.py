"""Lie groups: operations, noise, targets and score identities on groups.

- :mod:`scoresample.groups.torus`: the flat torus ``T^d`` (wrapped Gaussian noise,
  mixtures of wrapped Gaussians with exact noised marginals and posteriors).
"""
