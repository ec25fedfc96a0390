"""The typed vocabulary of options: each option with a fixed set of values is a str Enum (a `Choice`), so
code and editors see the choices, and old calls that pass the string keep working (`Mode("bm25")`, and a
member compares equal to its string: `Mode.BM25 == "bm25"`).

>>> class Colour(Choice):
...     RED = "red"
...     BLUE = "blue"
>>> Colour.parse("red") is Colour.RED, Colour.parse(Colour.BLUE) is Colour.BLUE, str(Colour.RED)
(True, True, 'red')
>>> try:
...     Colour.parse("green", "colour")
... except InvalidInputError as e:
...     print(e)
unknown colour 'green'; choose one of red, blue
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar, Union

from .errors import InvalidInputError

__all__ = ["Choice"]

C = TypeVar("C", bound="Choice")


class Choice(str, Enum):
    """A str Enum whose members print as their value; `parse` accepts the member or its string."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def choices(cls) -> tuple[str, ...]:
        return tuple(str(m.value) for m in cls)

    @classmethod
    def parse(cls: type[C], value: Union[C, str], what: str = "") -> C:
        """`value` as a member of this enum; InvalidInputError (a ValueError) listing the choices otherwise."""
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            name = what or cls.__name__
            raise InvalidInputError(f"unknown {name} {value!r}; choose one of {', '.join(cls.choices())}") from None
