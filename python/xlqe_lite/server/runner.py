"""Runs the app under uvicorn: check the settings, bind the socket, load the models, then serve."""

from __future__ import annotations

import logging
import socket
import sys
import threading
from typing import Optional, Sequence

from .config import MAX_REQUEST_HEAD_BYTES, ServerConfig
from .resident import ResidentEngine


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free one). Raises OSError when it is taken."""
    family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(index_dir: str, config: ServerConfig, *, threads: Optional[int] = None, llm: Optional[str] = None,
          expansion: bool = True, watch: Sequence[str] = ()) -> int:
    """Serves until interrupted (SIGINT/SIGTERM); returns the exit status. `watch`: folders kept in step
    with the index while serving (a sync at start and after each burst of changes)."""
    import uvicorn

    from .app import create_app

    config.validate()
    sock = bind(config.host, config.port)  # before the models load: a taken port fails at once
    resident = ResidentEngine.open(index_dir, threads=threads, llm=llm, expansion=expansion)
    engine = resident.engine()
    if engine.has_dense:  # the first encoder run allocates its buffers: do it before the first client
        engine.search("warm up", k=1)
    app = create_app(resident, config)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="xlqe serve: %(levelname)s %(message)s")
    stats = resident.stats()
    print(f"xlqe serve: listening on http://{shown}:{port}/ — {stats['documents']} documents, generation "
          f"{stats['generation']}, encoder {(stats['model'] or {}).get('encoder') or 'none'}, "
          f"expansion {stats['llm'] or 'off'}{', token required' if config.token else ''}", file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(
        app, http="h11", h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES, lifespan="off", log_level="warning",
        access_log=False, server_header=False, timeout_keep_alive=30))
    stop = threading.Event()
    if watch:
        resident.watch(watch, stop)
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
    return 0
