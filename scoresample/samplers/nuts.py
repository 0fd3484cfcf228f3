"""The No-U-Turn Sampler from BlackJAX, with Stan's window adaptation.

HMC whose trajectory doubles in a random direction until it makes a U-turn (or reaches
``2^max_num_doublings`` leapfrog steps), then draws the next state from the trajectory
by multinomial sampling on ``exp(-H)``. Step size and inverse mass matrix are tuned by
:func:`blackjax.window_adaptation` (:func:`scoresample.samplers.hmc.window_warmup`). Runs
on any log density, including a learned energy.

References:
    Hoffman & Gelman (2014), The No-U-Turn Sampler, JMLR 15, Alg. 3 and 6; Betancourt
    (2017), A conceptual introduction to Hamiltonian Monte Carlo, arXiv:1701.02434,
    Sec. A.3 (multinomial sampling).
"""

from __future__ import annotations

from blackjax.mcmc.hmc import HMCState as NUTSState
from blackjax.mcmc.nuts import NUTSInfo, as_top_level_api, build_kernel, init

__all__ = ["NUTSInfo", "NUTSState", "as_top_level_api", "build_kernel", "init"]
