"""The files of the web page, found safely, and the QR codes of records.

Every file carries an ``ETag`` (a hash of its bytes, the same on every gateway replica) and
``Last-Modified``, and is sent with ``Cache-Control: no-cache``: a browser asks again on each
load, so a new release shows at once, and is answered 304 without the body while its copy is
still the current one.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

import segno

STATIC_DIR = Path(__file__).parent / "static"

#: The kinds of file the page is made of, by suffix; any other file is not served. The answer
#: adds ``; charset=utf-8`` to the text ones.
MEDIA_TYPES: dict[str, str] = {
    # Module scripts run only when served with a JavaScript type.
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}

#: Characters a file's path under the static folder may have at most.
MAX_PATH_CHARS = 256

#: Largest record id (ids are BIGINT).
MAX_RECORD_ID = 2**63 - 1

QR_ERROR_CORRECTION = "m"
#: Light modules around the code; readers want some, a printed form has its own margin too.
QR_BORDER = 2
#: Pixels a module measures in the SVG's own size (it scales to whatever size the page gives it).
QR_SCALE = 4

_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")


@dataclass(frozen=True)
class StaticFile:
    path: Path
    media_type: str
    #: A strong validator, quoted as it goes in the header.
    etag: str
    #: When the file last changed, as an HTTP date, and as whole seconds since the epoch.
    last_modified: str
    modified: int
    stat: os.stat_result


class StaticFiles:
    """The files under ``root``, looked up by the path a URL names.

    A path is refused (None) unless every part of it is a plain name: no ``..``, no ``.``, no
    empty part (so nothing absolute), no hidden file, no backslash; unless its suffix is one of
    :data:`MEDIA_TYPES`; and unless it is a regular file that really lies under ``root`` (a link
    that leads out of it is refused too).
    """

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root
        # (path, modification time in ns, size) -> ETag: each file is hashed once per change.
        self._etags: dict[tuple[str, int, int], str] = {}

    def find(self, relative: str) -> StaticFile | None:
        if not relative or len(relative) > MAX_PATH_CHARS or "\\" in relative or "\x00" in relative:
            return None
        parts = relative.split("/")
        if any(not part or part.startswith(".") for part in parts):
            return None
        media_type = MEDIA_TYPES.get(os.path.splitext(parts[-1])[1])
        if media_type is None:
            return None
        try:
            root = self.root.resolve(strict=True)
            path = root.joinpath(*parts).resolve(strict=True)
            info = path.stat()
        except (OSError, RuntimeError):  # missing, unreadable, or a loop of links
            return None
        if not path.is_relative_to(root) or not stat.S_ISREG(info.st_mode):
            return None
        modified = int(info.st_mtime)
        return StaticFile(
            path=path,
            media_type=media_type,
            etag=self._etag(path, info),
            last_modified=formatdate(modified, usegmt=True),
            modified=modified,
            stat=info,
        )

    def _etag(self, path: Path, info: os.stat_result) -> str:
        key = (str(path), info.st_mtime_ns, info.st_size)
        etag = self._etags.get(key)
        if etag is None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
            etag = f'"{digest}"'
            if len(self._etags) >= 4096:  # files that changed many times while the gateway ran
                self._etags.clear()
            self._etags[key] = etag
        return etag


def still_current(file: StaticFile, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Whether the browser's copy is ``file`` as it is now (answer 304), from its conditional headers.

    ``If-None-Match`` decides when it is sent (weak comparison, as RFC 9110 asks for GET);
    ``If-Modified-Since`` only without it.
    """
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == file.etag for tag in tags)
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        return file.modified <= since.timestamp()
    return False


def record_id_of(name: str) -> int | None:
    """The record id in a QR code's file name (``123.svg``), or None for anything else.

    One name per record (no sign, no leading zero), so each code is cached once.
    """
    match = re.fullmatch(r"([1-9][0-9]{0,18})\.svg", name)
    if match is None:
        return None
    ident = int(match.group(1))
    return ident if ident <= MAX_RECORD_ID else None


def origin_of(scheme: str, host: str) -> str | None:
    """``scheme://host[:port]`` of a request, or None when its Host header is not a host name."""
    match = _HOST.fullmatch(host)
    if scheme not in ("http", "https") or match is None or int(match.group("port") or 0) > 65535:
        return None
    return f"{scheme}://{host}"


def record_page_url(base_url: str, record_id: int) -> str:
    return f"{base_url}/records/{record_id}"


@lru_cache(maxsize=1024)
def qr_svg(text: str) -> bytes:
    """A QR code of ``text`` as an SVG image: black modules on white, no script and no style in it.

    It has both a size and a ``viewBox``, so it shows at its own size and scales to any other.
    """
    code = segno.make_qr(text, error=QR_ERROR_CORRECTION, boost_error=False)
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        border=QR_BORDER,
        scale=QR_SCALE,
        dark="#000",
        light="#fff",
        svgclass=None,
        lineclass=None,
        omitsize=True,
    )
    width, height = code.symbol_size(scale=QR_SCALE, border=QR_BORDER)
    svg = buffer.getvalue().decode("utf-8")
    sized = svg.replace(' viewBox="', f' width="{width}" height="{height}" viewBox="', 1)
    if sized == svg:  # a segno that writes its SVG differently
        raise RuntimeError("the QR code's SVG has no viewBox to size")
    return sized.encode("utf-8")
