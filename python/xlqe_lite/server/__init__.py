"""The resident engine: `xlqe serve INDEX` keeps the encoder (and the expansion LLM) loaded and answers a
local HTTP API and a search page.

    from xlqe_lite.server import ServerConfig, ResidentEngine, create_app
    resident = ResidentEngine.open("my-index")
    app = create_app(resident, ServerConfig())            # an ASGI app; `xlqe serve` runs it under uvicorn

Why FastAPI on uvicorn: FastAPI (on Starlette) gives typed request validation, the OpenAPI schema at
/openapi.json for apps in other languages, and runs plain `def` endpoints in a thread pool, so searches
from many clients run in parallel (the Rust core and onnxruntime release the GIL while they work).
uvicorn is the ASGI server Starlette is developed against; its pure-Python h11 protocol lets the server
cap the request line and headers it accepts. Both are Apache-compatible (MIT/BSD).

Modules: `config` (addresses, token, limits), `resident` (the engine held in memory, picking up new
commits, and writes under the writer lock), `app` (routes, error handling, the page in `static/`).
"""

from typing import TYPE_CHECKING, Any

from ..errors import ServerConfigError, WriterBusyError
from .config import ServerConfig, is_loopback, read_token

if TYPE_CHECKING:
    from .app import create_app
    from .resident import ResidentEngine


def __getattr__(name: str) -> Any:
    # The app and the engine pull in FastAPI and the search stack: loaded when asked for, so that reading the
    # server's settings (`xlqe --help`) stays cheap.
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ResidentEngine":
        from .resident import ResidentEngine

        return ResidentEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["ResidentEngine", "ServerConfig", "ServerConfigError", "WriterBusyError", "create_app", "is_loopback",
           "read_token"]
