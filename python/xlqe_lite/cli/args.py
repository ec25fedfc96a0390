"""Argument types and shared flags for the `xlqe` commands: bad values fail at parse time (exit 2, one line,
before anything is opened or created)."""

from __future__ import annotations

import argparse
import os
from typing import Any, Callable, Optional

from .._core import normalize_lang
from ..errors import XlqeError


def int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (0 <= value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, not {text}")
    return value


def float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, not {text}")
        return value

    parse.__name__ = "float"
    return parse


def lang_list(text: str) -> str:
    """One --lang value (codes, comma-separated), each code checked."""
    try:
        for code in text.split(","):
            if code.strip():
                normalize_lang(code.strip())
    except XlqeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def lang_code(text: str) -> str:
    try:
        return normalize_lang(text)
    except XlqeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def index_dir(text: str) -> str:
    """An index to read: the directory must exist (nothing is created for a search)."""
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"index not found: no directory {text!r} "
                                         f"(create one with `xlqe index {text} PATH...`)")
    return text


def existing_dir(text: str) -> str:
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"no directory {text!r}")
    return text


def output_file(text: str) -> str:
    """A file to write: its folder must exist, and it must not be a folder itself."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    parent = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: no directory {parent!r}")
    return text


def llm_name(text: str) -> str:
    """--llm: a name from the LLM manifest or the path of a GGUF file."""
    from ..models.llm_registry import LLM_MANIFEST

    if text in LLM_MANIFEST or os.path.isfile(text):
        return text
    raise argparse.ArgumentTypeError(f"unknown LLM {text!r}: not a file, and not one of the known models: "
                                     f"{', '.join(LLM_MANIFEST)} (see `xlqe models list`)")


def encoder_name(text: str) -> str:
    """--encoder: a name from the encoder manifest or the path of a model config file."""
    from ..models.manifest import COMPOSITES, MANIFEST

    if text in MANIFEST or text in COMPOSITES or os.path.isfile(text):
        return text
    raise argparse.ArgumentTypeError(f"unknown encoder {text!r}: not a file, and not one of the known models: "
                                     f"{', '.join([*MANIFEST, *COMPOSITES])} (see `xlqe models list`)")


def strategy_name(text: str) -> str:
    if text not in ("auto", "none"):
        from ..expansion import parse_strategy

        try:
            parse_strategy(text)
        except XlqeError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


class Ambiguous(argparse.Action):
    """--model used to mean the encoder for `index` and the LLM for `search`: it is refused with the
    flags to use instead."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: Optional[str] = None) -> None:
        raise argparse.ArgumentError(self, f"{option_string} is ambiguous here: use --llm for the expansion "
                                           "model or --encoder for the embedding model")


def add_model_flags(p: argparse.ArgumentParser, encoder_help: str, encoder_default: Optional[str] = None) -> None:
    p.add_argument("--encoder", type=encoder_name, default=encoder_default, metavar="MODEL", help=encoder_help)
    p.add_argument("--llm", type=llm_name, metavar="MODEL",
                   help="the expansion model: a name from `xlqe models list` (default gemma-3-270m) or a .gguf path")
    p.add_argument("--model", action=Ambiguous, help=argparse.SUPPRESS)


def lang_codes(value: Optional[list[str]]) -> Optional[list[str]]:
    """--lang may repeat or hold a comma-separated list; codes are validated here, with a clear error."""
    if not value:
        return None
    return [normalize_lang(code) for item in value for code in item.split(",") if code.strip()]


def default_bench() -> Optional[str]:
    for candidate in (os.environ.get("XLQE_BENCH"), "../shared/bench"):
        if candidate and os.path.isdir(candidate):
            return candidate
    return None
