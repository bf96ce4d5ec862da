"""The web console: the built SPA (spa/dist) served by the web process.

Hashed files under /assets/ never change, so they are cached for a year as immutable;
index.html is revalidated on every load (`no-cache`) so a deploy takes effect at once.
Any other GET path that is not a file is a client route and gets index.html, except the
server's own namespaces (/api, /schema, /health, /metrics), which answer a real 404.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import File

from runtime.settings import get_settings

DIST = Path(get_settings().http.spa_dist)
"""Where `npm run build` writes the console (`HttpSettings.spa_dist`, HB_SPA_DIST)."""

RESERVED = ("api", "schema", "health", "metrics", "asyncapi")
"""First path segments that belong to the server: never answered with the console."""

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=3600"

NOT_BUILT = (
    "<!doctype html><title>Hirebuddha</title><h1>The console is not built</h1>"
    "<p>Run <code>make install</code> (it runs <code>npm ci &amp;&amp; npm run build</code> in spa/).</p>"
)


def _file(path: Path, cache: str) -> File:
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return File(
        path,
        filename=path.name,
        media_type=media_type,
        content_disposition_type="inline",
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


def _inside_dist(path: str) -> Path | None:
    """The file `path` names inside DIST, or None (missing, a directory, or outside DIST)."""
    root = DIST.resolve()
    candidate = (root / path).resolve()
    if candidate != root and root in candidate.parents and candidate.is_file():
        return candidate
    return None


def _index() -> File | Response[str]:
    index = DIST / "index.html"
    if not index.is_file():
        headers = {"Cache-Control": REVALIDATE}
        return Response(NOT_BUILT, status_code=503, media_type="text/html", headers=headers)
    return _file(index, REVALIDATE)


@get(["/", "/{path:path}"], opt={"exclude_from_auth": True}, include_in_schema=False, sync_to_thread=False)
def spa(request: Request) -> File | Response[str]:
    """A built file, or index.html for a client route; the server's namespaces 404."""
    # The path parameter of the second route (`/` has none; a `path` argument would have
    # been read from the query string there).
    rel = str(request.path_params.get("path", "")).lstrip("/")
    if rel.split("/", 1)[0] in RESERVED:
        raise NotFoundException(f"No route for /{rel}.")
    if not rel or rel == "index.html":
        return _index()
    found = _inside_dist(rel)
    if found is not None:
        return _file(found, IMMUTABLE if rel.startswith("assets/") else SHORT)
    if rel.startswith("assets/"):
        raise NotFoundException("No such asset.")  # an old hash: a 404, not HTML as JavaScript
    return _index()
