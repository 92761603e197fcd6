"""The docs server: GX Data Docs and the dbt docs over http, so the Dagster UI can link them.

A browser refuses to open a `file://` link from an http page, so the checks' Data Docs
links and the dbt docs asset's links point here instead. Two sites of the state folder
are served, nothing else of it (it also holds the engines' data and `stack.json`):

    /gx/<gate>_<engine>/...   GX Data Docs   (state folder: gx/data_docs/)
    /dbt/<target>/...         dbt docs       (state folder: docs/)
    /ping                     "Ok." (health checks)

The embedded stack starts it on 127.0.0.1 and a free port, remembered in `stack.json`
like the engines' (`shopmarts status` shows it); docker-compose runs it as the `docs`
service on the shared state volume, with `SHOPMARTS_DOCS_URL` telling the pipeline the
address browsers reach it at. The server is the standard library's, in its own process.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.server
import os
import sys
from functools import partial
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from core.settings import read_stack, state_dir

DOCS_URL_VAR = "SHOPMARTS_DOCS_URL"
DOCS_PORT_VAR = "SHOPMARTS_DOCS_PORT"
# URL prefix -> folder under the state folder.
SITES: dict[str, str] = {"gx": "gx/data_docs", "dbt": "docs"}


def docs_base_url() -> str | None:
    """Where browsers reach the docs server (ending in `/`), or None when none is known.

    `SHOPMARTS_DOCS_URL` wins (compose: the published address); else the embedded
    stack's server recorded in `stack.json`.
    """
    configured = os.environ.get(DOCS_URL_VAR, "").strip()
    if configured:
        return configured.rstrip("/") + "/"
    port = read_stack().get("docs_server", {}).get("port")
    return f"http://127.0.0.1:{port}/" if port else None


def docs_url(location: str | Path | None) -> str | None:
    """The http address of a Data Docs or dbt docs file (a path or a `file://` URL).

    None for a location outside the served sites; the location unchanged when no docs
    server is known (nothing better to link then).
    """
    if not location:
        return None
    text = str(location)
    path = Path(unquote(urlsplit(text).path)) if text.startswith("file:") else Path(text)
    base = docs_base_url()
    root = state_dir()
    for prefix, folder in SITES.items():
        try:
            relative = path.resolve().relative_to(root / folder)
        except ValueError:
            continue
        if base is None:
            return text
        return base + prefix + "/" + quote(relative.as_posix())
    return None


class DocsRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the two sites' files; anything else of the state folder is a 404."""

    def __init__(self, *args: object, root: Path, **kwargs: object) -> None:
        self.root = root
        super().__init__(*args, directory=str(root / "__nothing__"), **kwargs)  # type: ignore[arg-type]

    def translate_path(self, path: str) -> str:
        prefix, _, rest = urlsplit(path).path.lstrip("/").partition("/")
        if prefix not in SITES:
            return str(self.root / "__nothing__" / "missing")
        # The parent class resolves `rest` inside `directory`, dropping `..` and the like.
        self.directory = str(self.root / SITES[prefix])
        return super().translate_path("/" + rest)

    def do_GET(self) -> None:
        route = urlsplit(self.path).path
        if route == "/ping":
            self._answer(b"Ok.\n", "text/plain; charset=utf-8")
        elif route in ("", "/"):
            self._answer(self._index().encode(), "text/html; charset=utf-8")
        else:
            super().do_GET()

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _index(self) -> str:
        """A page linking every site there is: each gate's Data Docs, each target's dbt docs."""
        items = []
        for path in sorted((self.root / SITES["gx"]).glob("*/index.html")):
            name = path.parent.name
            items.append(f'<li><a href="gx/{quote(name)}/index.html">Data Docs: {name}</a></li>')
        for path in sorted((self.root / SITES["dbt"]).glob("*/static_index.html")):
            name = path.parent.name
            items.append(f'<li><a href="dbt/{quote(name)}/static_index.html">dbt docs: {name}</a>')
        listing = "\n".join(items) or "<li>No docs yet: run a refresh.</li>"
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>shopmarts docs</title>"
            f"</head><body><h1>shopmarts docs</h1><p>{html.escape(str(self.root))}</p>"
            f"<ul>\n{listing}\n</ul></body></html>"
        )

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the parent's name
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def serve(root: Path, host: str, port: int) -> None:
    """Serve ``root``'s docs sites on ``host``:``port`` until interrupted."""
    handler = partial(DocsRequestHandler, root=root.resolve())
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"shopmarts docs on http://{host}:{port}/ from {root}", file=sys.stderr, flush=True)
        server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="state folder (SHOPMARTS_HOME)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.root or state_dir(), args.host, args.port)


if __name__ == "__main__":
    main()
