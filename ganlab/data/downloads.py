"""Offline-safe download helpers: fail fast (never hang) when there is no network; fetch a file
and unpack an archive only after checking that none of it lands outside its folder."""

from __future__ import annotations

import shutil
import socket
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse
from urllib.request import getproxies, urlopen

__all__ = [
    "download_file",
    "extract_checked",
    "missing_message",
    "probe",
    "socket_timeout",
    "try_download",
]

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


def download_file(url: str, path: Path) -> None:
    """Save what ``url`` serves to ``path`` (run it through :func:`try_download`, which sets the
    socket timeout)."""
    with urlopen(url) as response, open(path, "wb") as out:
        shutil.copyfileobj(response, out)


def extract_checked(archive: Path, folder: Path) -> None:
    """Unpack the zip or tar(.gz) ``archive`` into ``folder``, once every member is checked: a
    ``ValueError`` names the first one that would land outside ``folder`` (an absolute path,
    a ``..``) or, in a tar, is neither a file nor a folder (a link, a device), and nothing is
    written."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as packed:
            _check_members(archive, ((info.filename, True) for info in packed.infolist()))
            packed.extractall(folder)
        return
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        _check_members(archive, ((m.name, m.isfile() or m.isdir()) for m in members))
        for member in members:  # by hand: only files and folders, each where it was checked
            target = folder / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            content = tar.extractfile(member)
            assert content is not None, f"{member.name} is a file, so it has content"
            with content, open(target, "wb") as out:
                shutil.copyfileobj(content, out)


def _check_members(archive: Path, members: Iterable[tuple[str, bool]]) -> None:
    """Each ``(name, plain)`` of an archive's members must be a relative path without ``..`` and
    ``plain`` (a file or a folder).

    >>> _check_members(Path("x.zip"), [("x/trainA/1.jpg", True), ("x/../../escape.txt", True)])
    Traceback (most recent call last):
    ...
    ValueError: x.zip holds 'x/../../escape.txt', which would land outside the folder it is unpacked into: refusing to unpack it
    """
    for name, plain in members:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise ValueError(
                f"{archive} holds {name!r}, which would land outside the folder it is unpacked "
                "into: refusing to unpack it"
            )
        if not plain:
            raise ValueError(
                f"{archive} holds {name!r}, a link or device rather than a file or folder: "
                "refusing to unpack it"
            )


def missing_message(
    name: str,
    root: Path,
    missing: Sequence[Path],
    download: bool,
    reason: str | None,
    fix: str,
    # where data.root points by default, and an example of setting it
    elsewhere: str = "e.g. `data.root=/datasets` on the command line; the default is "
    "${paths.data_dir}",
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
        f"Alternatively point data.root at a directory that already holds it ({elsewhere})"
        + ("" if download else ", or set data.download=true on a machine with internet access")
        + "."
    )
