"""Offline-safe download helpers: fail fast (never hang) when there is no network."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import getproxies

__all__ = ["missing_message", "probe", "socket_timeout", "try_download"]

PROBE_TIMEOUT_S = 5.0  # connecting to the download host
DOWNLOAD_TIMEOUT_S = 60.0  # per socket operation while downloading


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Open (and close) a TCP connection to ``url``'s host; ``None`` if it works, else why not.

    Runs in a daemon thread with a hard deadline, because DNS lookups ignore socket timeouts.
    """
    parsed = urlparse(url)
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(None)
        except OSError as e:  # gaierror, timeout, ConnectionRefusedError, ...
            result.append(f"{type(e).__name__}: {e}")

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if not result:
        return f"no answer from {host} within {timeout:.0f} s"
    return result[0]


@contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    """Temporarily set the default socket timeout (urllib, used by torchvision, has none)."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def try_download(fetch: Callable[[], object], probe_url: str) -> str | None:
    """Run ``fetch()``; ``None`` on success, else a one-line reason (never raises, never hangs).

    The host of ``probe_url`` is probed first (skipped when a proxy is configured, since a
    direct connection may then be impossible although the download would work).
    """
    if not getproxies():
        reason = probe(probe_url)
        if reason is not None:
            host = urlparse(probe_url).hostname
            return f"cannot reach {host} ({reason})"
    try:
        with socket_timeout(DOWNLOAD_TIMEOUT_S):
            fetch()
    except Exception as e:
        text = str(e).strip().splitlines()
        return f"{type(e).__name__}: {text[0][:300] if text else ''}".rstrip(": ")
    return None


def missing_message(
    name: str,
    root: Path,
    missing: Sequence[Path],
    download: bool,
    reason: str | None,
    fix: str,
) -> str:
    """The single, complete error message for a downloadable dataset that is not on disk."""
    shown = [str(p) for p in missing[:8]]
    if len(missing) > 8:
        shown.append(f"... and {len(missing) - 8} more")
    attempt = f"failed: {reason}" if download else "not attempted because data.download=false"
    return (
        f"{name}: dataset not found under data.root={str(root)!r}.\n"
        f"Missing: {', '.join(shown)}\n"
        f"Automatic download {attempt}.\n"
        f"{fix.rstrip()}\n"
        f"Alternatively point data.root at a directory that already holds it "
        f"(e.g. `data.root=/datasets` on the command line; the default is ${{paths.data_dir}})"
        + ("" if download else ", or set data.download=true on a machine with internet access")
        + "."
    )
