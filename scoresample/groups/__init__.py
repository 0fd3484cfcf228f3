"""Lie groups: operations, noise, targets and score identities on groups.

- :mod:`scoresample.groups.torus`: the flat torus ``T^d`` (wrapped Gaussian noise,
  mixtures of wrapped Gaussians with exact noised marginals and posteriors).
- :mod:`scoresample.groups.so3`: the rotation group SO(3) (rotation vectors, IGSO(3)
  noise by its image sum and character series, mixtures with exact noised marginals).
"""
