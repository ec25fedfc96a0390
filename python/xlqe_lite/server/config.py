"""Where the server listens, who may call it, and how much it accepts."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Optional

from ..errors import ServerConfigError

# Longest query accepted, in characters: far beyond any question a person types, and it bounds the time
# one request can cost (analysis, embedding of its first 512 tokens, snippets).
MAX_QUERY_CHARS = 4096
# Largest request body (POST /documents, POST /index), in bytes.
MAX_BODY_BYTES = 16 * 1024 * 1024
# Longest request line plus headers uvicorn buffers; beyond it the connection is refused before the app
# sees it. Large enough that an over-long query still reaches the app and gets its JSON error.
MAX_REQUEST_HEAD_BYTES = 1024 * 1024
MAX_K = 1000


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) only ever reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def read_token(path: str) -> str:
    """The bearer token in the file at `path` (surrounding whitespace ignored); at least 16 characters."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ServerConfigError(f"cannot read the token file {path}: {e}") from e
    if len(token) < 16 or any(c.isspace() for c in token):
        raise ServerConfigError(f"the token in {path} must be at least 16 characters without spaces")
    return token


@dataclass(frozen=True)
class ServerConfig:
    """How `xlqe serve` listens. A non-loopback `host` needs a `token`; the check is in `validate()`."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: Optional[str] = None
    max_query_chars: int = MAX_QUERY_CHARS
    max_body_bytes: int = MAX_BODY_BYTES

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def validate(self) -> "ServerConfig":
        if not self.loopback and not self.token:
            raise ServerConfigError(f"{self.host} is reachable from other machines: give a token with "
                                    "--token-file FILE (clients then send 'Authorization: Bearer TOKEN'), "
                                    "or serve on 127.0.0.1")
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"port {self.port} is not between 0 and 65535")
        return self

    @classmethod
    def from_args(cls, host: str, port: int, token_file: Optional[str]) -> "ServerConfig":
        token = read_token(os.path.expanduser(token_file)) if token_file else None
        return cls(host=host, port=port, token=token).validate()
