"""The parse tree: a few frozen node types, each with its source position."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Num:
    value: float
    pos: int


@dataclass(frozen=True)
class Array:
    shape: tuple
    values: tuple  # flat, row-major
    pos: int


@dataclass(frozen=True)
class Stack:
    items: tuple  # expressions of one shape: [a, b] is a tensor whose first axis runs over them
    pos: int


@dataclass(frozen=True)
class Name:
    id: str
    pos: int


@dataclass(frozen=True)
class Str:
    value: str
    pos: int


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * / @ ^
    left: object
    right: object
    pos: int


@dataclass(frozen=True)
class Neg:
    arg: object
    pos: int


@dataclass(frozen=True)
class Transpose:
    arg: object
    pos: int


@dataclass(frozen=True)
class Index:
    arg: object
    items: tuple  # ints and slice objects with int (or None) bounds
    pos: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple
    kwargs: tuple  # ((name, node), ...)
    pos: int


@dataclass(frozen=True)
class Tuple:
    """``(0, 2, 1)``: a parenthesised list, only as an argument (axes of transpose, softmax)."""

    items: tuple
    pos: int
