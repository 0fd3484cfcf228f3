"""The compiled programs of :func:`scoresample.samplers.run`, kept across calls.

A program is compiled once per *trace key*: what changes its trace (the phase, the
sampler's name and structural settings, the model's structure and non-array parts, the
dimension, the chain layout, the shapes and dtypes of the arguments). Everything else
(step sizes, mass matrices, schedules, keys, starting points, the model's arrays) is an
argument, so a second identical call, or a sweep over a step size, compiles nothing.

A model's non-array parts are keyed by identity (functions, and the objects their
closures hold), so a new lambda compiles anew. As with :func:`jax.jit`, a function's
*globals* are read when it is first compiled: rebinding a global it reads does not reach
an already compiled program.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

import equinox as eqx
import jax

#: Programs kept (least recently used dropped first); each holds its executable.
MAX_PROGRAMS = 64

_PROGRAMS: OrderedDict[Hashable, tuple] = OrderedDict()


def model_key(rest) -> tuple[Hashable, list] | None:
    """A hashable key of a model's non-array part (``eqx.partition(model, is_array)[1]``)
    and the objects it identifies by ``id`` (to keep alive while the key is in use), or
    None when some part cannot be keyed (then nothing is cached)."""
    leaves, treedef = jax.tree.flatten(rest)
    parts, pins = [], list(leaves)
    for leaf in leaves:
        contents = _closure_contents(leaf)
        pins += contents
        parts.append((leaf, tuple(id(c) for c in contents)))
    key = (treedef, tuple(parts))
    try:
        hash(key)
    except TypeError:
        return None
    return key, pins


def _closure_contents(fn) -> list:
    """The objects a function's closure holds now (rebinding them makes a new key)."""
    contents = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            contents.append(cell.cell_contents)
        except ValueError:  # an empty cell
            contents.append(None)
    return contents


def abstract(args) -> Hashable:
    """The structure, shapes and dtypes of ``args`` (what a compiled program accepts)."""
    leaves, treedef = jax.tree.flatten(args)
    return treedef, tuple(
        (leaf.shape, str(leaf.dtype), bool(getattr(leaf, "weak_type", False))) for leaf in leaves
    )


def compiled(key: Hashable | None, make: Callable, args, timing: dict, pins=()):
    """The executable of ``make()`` (a jitted function) for ``args``: from the cache when
    ``key`` was compiled before, else compiled now (seconds added to
    ``timing["compile"]``). A None ``key`` is never cached."""
    full = None if key is None else (key, abstract(args))
    if full is not None and full in _PROGRAMS:
        _PROGRAMS.move_to_end(full)
        return _PROGRAMS[full][0]
    start = time.perf_counter()
    executable = make().lower(*args).compile()
    timing["compile"] += time.perf_counter() - start
    if full is not None:
        _PROGRAMS[full] = (executable, list(pins))
        while len(_PROGRAMS) > MAX_PROGRAMS:
            _PROGRAMS.popitem(last=False)
    return executable


def once(key: Hashable, fn: Callable, check: Callable, *args) -> None:
    """``check(fn, *args)``, skipped when it passed before for ``key`` and a function of
    the same structure (a shape check traces ``fn``; a cached program has been checked)."""
    arrays, rest = eqx.partition(fn, eqx.is_array)
    keyed = model_key(rest)
    full = None if keyed is None else ("once", key, keyed[0], abstract(arrays))
    if full is not None and full in _PROGRAMS:
        return
    check(fn, *args)
    if full is not None:
        _PROGRAMS[full] = (None, keyed[1])


def clear_compiled() -> None:
    """Forget every compiled program (frees their memory; the next run compiles again)."""
    _PROGRAMS.clear()
