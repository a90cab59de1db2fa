"""stdlib-web: the test sample, standard library only (builds in seconds, no pip download).

GET /                         "stdlib-web ok <release>" (RELEASE, else GIT_REV, else SOURCE_VERSION)
GET /write?name=<n>&data=<d>  writes <d> to $STORAGE_DIR/<n> (default /storage), answers <d>
GET /read?name=<n>            the file's content, 404 when it is missing
GET /whoami                   "<uid> <gid>"
GET /env/<KEY>                os.environ[KEY], 404 when unset
GET /headers                  the request headers as a JSON object
Listens on 0.0.0.0:$PORT (default 5000); SIGTERM stops it at once.
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME = "stdlib-web"


def release() -> str:
    return os.environ.get("RELEASE") or os.environ.get("GIT_REV") or os.environ.get("SOURCE_VERSION") or ""


def storage_path(name: str) -> str | None:
    """The file for `name` under STORAGE_DIR; None for anything but a plain file name."""
    if not name or "/" in name or name in (".", ".."):
        return None
    return os.path.join(os.environ.get("STORAGE_DIR", "/storage"), name)


class Handler(BaseHTTPRequestHandler):
    server_version = NAME

    def answer(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        if path == "/":
            return self.answer(200, f"{NAME} ok {release()}".strip())
        if path == "/whoami":
            return self.answer(200, f"{os.getuid()} {os.getgid()}")
        if path == "/headers":
            return self.answer(200, json.dumps(dict(self.headers.items())), "application/json")
        if path.startswith("/env/"):
            key = path[len("/env/"):]
            if key in os.environ:
                return self.answer(200, os.environ[key])
            return self.answer(404, f"{key} is not set")
        if path in ("/write", "/read"):
            target = storage_path(query.get("name", ""))
            if target is None:
                return self.answer(400, "name must be a plain file name")
            if path == "/write":
                data = query.get("data", "")
                try:
                    with open(target, "w") as f:
                        f.write(data)
                except OSError as err:
                    return self.answer(500, f"cannot write {target}: {err}")
                return self.answer(200, data)
            try:
                with open(target) as f:
                    return self.answer(200, f.read())
            except FileNotFoundError:
                return self.answer(404, f"{target} does not exist")
            except OSError as err:
                return self.answer(500, f"cannot read {target}: {err}")
        return self.answer(404, "not found")

    def log_message(self, fmt, *args):
        sys.stdout.write(f"{self.address_string()} {fmt % args}\n")
        sys.stdout.flush()


def main() -> None:
    port = int(os.environ.get("PORT", "5000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{NAME} listening on 0.0.0.0:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
