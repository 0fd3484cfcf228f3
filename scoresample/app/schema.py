"""Dataclasses from TOML tables, with type checks and did-you-mean errors, and back.

``build(cls, table, where, passthrough)`` validates a nested table against the type
hints of dataclass ``cls`` (``Literal``, unions, lists, nested dataclasses); unknown keys
are errors, except for a class listed in ``passthrough`` (class -> field name), whose
unknown keys are collected in that field. ``to_table`` and ``dump_toml`` go back.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal

from ..errors import ConfigError


def check_value(value, hint, where: str, passthrough: dict):
    """Type-check ``value`` against the annotation ``hint``; return it converted."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors, named = [], []
        for option in (a for a in args if a is not type(None)):
            try:
                return check_value(value, option, where, passthrough)
            except ConfigError as exc:
                errors.append(exc)
                if typing.get_origin(option) is Literal and isinstance(value, str):
                    named.append(exc)  # a misspelt name: say which names there are
        raise (named or errors)[0]
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            fix = (
                f"did you mean {close[0]!r}?"
                if close
                else f"use one of {', '.join(map(repr, args))}"
            )
            raise ConfigError(where, f"unknown value {value!r}", fix)
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(where, f"must be a list, got {value!r}", "write it as [a, b, ...]")
        index = "{}.{}" if dataclasses.is_dataclass(args[0]) else "{}[{}]"
        return [
            check_value(v, args[0], index.format(where, i), passthrough)
            for i, v in enumerate(value)
        ]
    if origin is dict or hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(where, f"must be a table, got {value!r}", f"write it as [{where}]")
        return build(hint, value, where, passthrough)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(
            where,
            f"must be {hint.__name__}, got {type(value).__name__} {value!r}",
            f"write a {hint.__name__} value",
        )
    return value


def build(cls, table: dict, where: str, passthrough: dict):
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    extra_field = passthrough.get(cls)
    kwargs, extra = {}, {}
    for key, value in table.items():
        path = f"{where}.{key}" if where else key
        if key in fields and key != extra_field:
            kwargs[key] = check_value(value, hints[key], path, passthrough)
        elif extra_field:
            extra[key] = value
        else:
            close = difflib.get_close_matches(key, list(fields), n=1)
            fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(fields)}"
            raise ConfigError(path, "unknown key", fix)
    if extra_field:
        kwargs[extra_field] = extra
    missing = [
        f.name
        for f in fields.values()
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(
            f"{where}.{missing[0]}" if where else missing[0],
            "is required",
            f"add {missing[0]} = ... to the config",
        )
    return cls(**kwargs)


def to_table(obj, passthrough: dict) -> dict:
    """A dataclass tree as a TOML-ready table; pass-through dicts are merged back."""

    def convert(obj):
        if dataclasses.is_dataclass(obj):
            out = {}
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                if passthrough.get(type(obj)) == f.name:
                    out.update(value)
                elif value is not None:
                    out[f.name] = convert(value)
            return out
        if isinstance(obj, list):
            return [convert(v) for v in obj]
        return obj

    return convert(obj)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"cannot write {value!r} to TOML")


def dump_toml(table: dict, prefix: str = "") -> str:
    """Write a table of scalars, lists, sub-tables and arrays of tables as TOML."""
    scalars = {
        k: v
        for k, v in table.items()
        if not isinstance(v, dict)
        and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))
    }
    lines = [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            lines += ["", f"[{name}]", dump_toml(value, name)]
        elif key not in scalars:
            for item in value:
                lines += ["", f"[[{name}]]", dump_toml(item, name)]
    return "\n".join(line for line in lines if line is not None).strip() + "\n"
