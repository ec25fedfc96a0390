"""The worker process of `isolated.IsolatedExtractor`: reads (path, max_bytes, timeout) requests as pickles
on stdin, answers each with a pickle on stdout. Run as `python -m xlqe_lite.ingest._worker [MEMORY_LIMIT]`."""

from __future__ import annotations

import os
import pickle
import sys
from typing import Any


def main() -> None:
    if len(sys.argv) > 1 and int(sys.argv[1]) > 0:
        import resource

        limit = int(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    from .extract import extract
    from ..errors import ExtractionError

    while True:
        try:
            request = pickle.load(inp)
        except EOFError:
            return
        if request is None:
            return
        path, max_bytes, timeout = request
        try:
            reply: tuple[Any, ...] = ("ok", extract(path, max_bytes=max_bytes, timeout=timeout))
        except ExtractionError as e:
            reply = ("error", e.reason, e.message)
        except MemoryError:
            reply = ("error", "too-large", "the file needs more memory than the extractor may use")
        pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    main()
