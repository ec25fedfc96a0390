"""The HTTP API and the search page, as a FastAPI app over a `ResidentEngine`.

Statuses: 400 the body is not valid JSON; 401 no or a wrong bearer token; 404 no such document or route;
409 another process holds the writer lock; 413 the body is too large; 415 a body that is not JSON;
421 a Host header that names no loopback address (a loopback server without a token refuses them, so a
web page cannot reach it by DNS rebinding); 422 a parameter or document is invalid (empty or over-long
query, unknown mode, language or strategy, k out of range); 503 a model is missing. Every error is JSON,
{"status": N, "error": "<kind>", "message": "..."}; a failure inside the server is logged on its stderr and
answered as a 500 without details. CORS is off: no Access-Control headers are ever sent.

Plain `def` endpoints run in FastAPI's thread pool, so many searches run at once.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from pathlib import Path
from typing import Any, Literal, Optional, Union

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import IndexNotFoundError, InvalidInputError, ModelError, WriterBusyError, XlqeError
from ..expansion.prompts import STRATEGIES
from .config import MAX_K, ServerConfig
from .resident import ResidentEngine, document_format

log = logging.getLogger("xlqe_lite.server")
STATIC = Path(__file__).parent / "static"
# Paths anyone may fetch even when a token is set: the page and its assets hold no data.
PUBLIC_PATHS = ("/", "/favicon.ico")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"status": status, "error": kind, "message": message, **extra}, status_code=status,
                        headers=headers)


class ApiError(HTTPException):
    """An HTTP error with a machine-readable kind."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(status, message)
        self.kind = kind


class Guard:
    """Checks each request before the app sees it: Host (loopback without a token), the bearer token, the
    body's type and size. Pure ASGI, so an over-large body is cut off while it streams in."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        refusal = self._refusal(headers, path, scope["method"])
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        limit, seen, started = self.config.max_body_bytes, 0, False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, "too_large", f"the request body is larger than {limit} bytes")
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException:  # anything the app's handlers did not answer, a Rust panic included
            log.exception("internal error on %s %s", scope["method"], path)
            if not started:
                await _error(500, "internal_error", "the server failed on this request; its log has the details")(
                    scope, receive, send)

    def _refusal(self, headers: dict[str, str], path: str, method: str) -> Optional[JSONResponse]:
        config = self.config
        if not config.token:
            host = headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_HOSTS:
                return _error(421, "host_not_allowed", f"this server answers requests for 127.0.0.1 or localhost "
                                                       f"only, not {host!r}")
        public = path in PUBLIC_PATHS or path.startswith("/static/")
        if config.token and not public:
            given = headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if not given:
                return _error(401, "unauthorized", "this server needs a token: send 'Authorization: Bearer TOKEN'")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), config.token.encode()):
                return _error(401, "unauthorized", "the bearer token is wrong")
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _error(400, "bad_request", "Content-Length is not a number")
            if int(length) > config.max_body_bytes:
                return _error(413, "too_large", f"the request body is larger than {config.max_body_bytes} bytes")
        if method in ("POST", "PUT", "PATCH") and (length not in (None, "0") or "transfer-encoding" in headers):
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                return _error(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)")
        return None


# -- response and body models (they make the OpenAPI schema) -------------------------------------------
class HitOut(BaseModel):
    id: str
    score: float
    lang: Optional[str]
    path: Optional[str]
    title: Optional[str]
    format: Optional[str]
    snippet: Optional[str]
    highlights: list[tuple[int, int]] = Field(description="[start, end) character ranges (code points) in snippet")
    passage: Optional[dict[str, Any]] = Field(description="where in the document the match is (page), when known")
    metadata: dict[str, Any]
    explanation: Optional[dict[str, Any]] = Field(None, description="with explain=1: each list's rank, score, weight")


class QueryOut(BaseModel):
    q: str
    lang: Optional[str] = Field(description="the query's language, given or guessed")
    mode: str
    k: int
    langs: Optional[list[str]]
    expand: str
    path: Optional[str]
    format: Optional[str]
    expansions: list[dict[str, Any]]


class SearchOut(BaseModel):
    query: QueryOut
    hits: list[HitOut]
    took_ms: float
    warnings: list[str]
    generation: int


class DocumentIn(BaseModel):
    id: str = Field(min_length=1, max_length=4096)
    text: str = Field(min_length=1)
    lang: Optional[str] = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentsIn(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1)


class IndexIn(BaseModel):
    paths: list[str] = Field(min_length=1, description="absolute paths of folders or files on the server's machine")
    lang: Optional[str] = None


def _expand_value(expand: str) -> str:
    if expand in ("none", "auto"):
        return expand
    parts = expand.split("+")
    unknown = [p for p in parts if p not in STRATEGIES]
    if unknown:
        raise InvalidInputError(f"unknown expansion {', '.join(map(repr, unknown))}: use none, auto, or "
                                f"{', '.join(STRATEGIES)} (join several with +)")
    return expand


def _split(values: Optional[list[str]]) -> Optional[list[str]]:
    out = [v.strip() for item in values or () for v in item.split(",") if v.strip()]
    return out or None


def create_app(resident: ResidentEngine, config: ServerConfig = ServerConfig()) -> FastAPI:
    """The ASGI app: JSON API, OpenAPI at /openapi.json, the page at / (no interactive docs: they load
    scripts from a CDN)."""
    app = FastAPI(title="xlqe-lite", version=__version__, docs_url=None, redoc_url=None,
                  description="Offline cross-lingual search over one index. Errors: "
                              '{"status", "error", "message"}.')

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = getattr(exc, "kind", None) or {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        message = exc.detail if exc.status_code != 404 or isinstance(exc, ApiError) else f"no route {request.url.path}"
        return _error(exc.status_code, kind, str(message))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            ctx = bad_json[0].get("ctx") or {}
            return _error(400, "invalid_json", f"the body is not valid JSON: {ctx.get('error', 'parse error')}")
        parts = []
        for e in errors:
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path"))
            parts.append(f"{where or 'request'}: {e.get('msg')}")
        return _error(422, "invalid_parameter", "; ".join(parts))

    @app.exception_handler(XlqeError)
    async def engine_error(request: Request, exc: XlqeError) -> JSONResponse:
        if isinstance(exc, WriterBusyError):
            return _error(409, "writer_busy", str(exc))
        if isinstance(exc, InvalidInputError):
            return _error(422, "invalid_input", str(exc))
        if isinstance(exc, IndexNotFoundError):
            return _error(503, "index_missing", str(exc))
        log.exception("engine error on %s", request.url.path)
        return _error(500, "engine_error", f"{type(exc).__name__}: {exc}")

    @app.exception_handler(ModelError)
    async def model_error(request: Request, exc: ModelError) -> JSONResponse:
        return _error(503, "model_unavailable", str(exc))

    @app.get("/search", response_model=SearchOut, summary="Search the index")
    def search(
        q: str = Query(..., description=f"the query (at most {config.max_query_chars} characters)"),
        k: int = Query(10, ge=1, le=MAX_K, description="number of hits"),
        lang: Optional[list[str]] = Query(None, description="only documents in these languages (repeat or comma-separate)"),
        query_lang: Optional[str] = Query(None, description="the query's language (default: guessed)"),
        mode: Optional[Literal["hybrid", "bm25", "dense"]] = Query(None, description="default: hybrid when the index has vectors"),
        expand: str = Query("none", description=f"none, auto, or a strategy: {', '.join(STRATEGIES)} (join with +)"),
        explain: bool = Query(False, description="1: each hit says why it ranks where it does"),
        path: Optional[str] = Query(None, description="only documents at or under this path"),
        format: Optional[str] = Query(None, description="only documents of this format (text, markdown, pdf, docx, ...; md and txt are understood)"),
        budget: float = Query(3.0, gt=0, le=60, description="seconds the LLM may spend on an expansion"),
    ) -> JSONResponse:
        start = time.perf_counter()
        if len(q) > config.max_query_chars:
            raise InvalidInputError(f"the query is {len(q)} characters long; the limit is {config.max_query_chars}")
        langs = _split(lang)
        expand = _expand_value(expand)
        result = resident.search(q, k=k, mode=mode, langs=langs, query_lang=query_lang, expand=expand,
                                 explain=explain, path=path, fmt=format, budget=budget)
        hits = []
        for h in result.hits:
            doc = result.documents.get(h.id)
            meta = dict(doc.metadata) if doc else {}
            doc_path = meta.get("path") if isinstance(meta.get("path"), str) else None
            if doc_path and isinstance(meta.get("root"), str):  # a synced file: where it is on this machine
                doc_path = os.path.join(meta["root"], doc_path)
            title = meta.get("title") if isinstance(meta.get("title"), str) else None
            passage = getattr(h, "place", None) or getattr(h, "passage", None)
            if passage is None and isinstance(meta.get("page"), int):
                passage = {"page": meta["page"]}
            hits.append({"id": h.id, "score": h.score, "lang": h.lang, "path": doc_path,
                         "title": title or (os.path.basename(doc_path) if doc_path else None),
                         "format": document_format(meta), "snippet": h.snippet,
                         "highlights": [list(r) for r in h.highlights], "passage": dict(passage) if passage else None,
                         "metadata": meta,
                         "explanation": h.explanation.to_dict() if explain and h.explanation is not None else None})
        expansions = [{"strategy": e.strategy, "lang": e.lang, "texts": list(e.texts), "cached": e.cached,
                       "complete": e.complete} for e in result.expansions]
        # Returned as a response, not a dict: FastAPI then skips re-validating it against SearchOut (which
        # documents it in the OpenAPI schema) and its slow generic encoder; the values are plain JSON already.
        return JSONResponse({"query": {"q": q, "lang": result.query_lang, "mode": result.mode, "k": k, "langs": langs,
                                       "expand": expand, "path": path, "format": format, "expansions": expansions},
                             "hits": hits, "took_ms": round((time.perf_counter() - start) * 1000, 3),
                             "warnings": result.warnings, "generation": result.generation})

    @app.get("/documents/{doc_id:path}", summary="One stored document")
    def get_document(doc_id: str) -> dict[str, Any]:
        doc = resident.document(doc_id)
        if doc is None:
            raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
        return {"id": doc.id, "text": doc.text, "lang": doc.lang, "metadata": dict(doc.metadata),
                "format": document_format(doc.metadata)}

    @app.post("/documents", summary="Add or replace documents (takes the writer lock for one commit)")
    def post_documents(body: DocumentsIn) -> dict[str, Any]:
        return resident.add_documents(d.model_dump() for d in body.documents)

    @app.delete("/documents/{doc_id:path}", summary="Delete a document (takes the writer lock for one commit)")
    def delete_document(doc_id: str) -> dict[str, Any]:
        if resident.document(doc_id) is None:
            raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
        return resident.delete(doc_id)

    @app.post("/index", summary="Sync files and folders on this machine into the index, as `xlqe index` does")
    def post_index(body: IndexIn) -> dict[str, Any]:
        relative = [p for p in body.paths if not os.path.isabs(p)]
        if relative:
            raise InvalidInputError(f"paths must be absolute: {', '.join(relative)}")
        return resident.sync_paths(body.paths, lang=body.lang)

    @app.get("/stats", summary="Documents per language, models, index generation")
    def stats() -> dict[str, Any]:
        return {**resident.stats(), "version": __version__}

    @app.get("/health", summary="Whether the server answers")
    def health() -> dict[str, Union[str, int]]:
        return {"status": "ok", "generation": resident.engine().index.generation}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, config=config)
    return app
