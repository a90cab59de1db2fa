"""python-sample: a Flask app served by gunicorn (see the Procfile).

GET /                         "python-sample ok <release>" (RELEASE, else GIT_REV, else SOURCE_VERSION)
GET /write?name=<n>&data=<d>  writes <d> to $STORAGE_DIR/<n> (default /storage), answers <d>
GET /read?name=<n>            the file's content, 404 when it is missing
GET /whoami                   "<uid> <gid>"
GET /env/<KEY>                os.environ[KEY], 404 when unset
"""
import os

from flask import Flask, abort, request

app = Flask(__name__)
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def storage_path(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        abort(400, "name must be a plain file name")
    return os.path.join(os.environ.get("STORAGE_DIR", "/storage"), name)


@app.get("/")
def index():
    release = os.environ.get("RELEASE") or os.environ.get("GIT_REV") or os.environ.get("SOURCE_VERSION") or ""
    return f"python-sample ok {release}".strip(), 200, TEXT


@app.get("/write")
def write():
    target = storage_path(request.args.get("name", ""))
    data = request.args.get("data", "")
    with open(target, "w") as f:
        f.write(data)
    return data, 200, TEXT


@app.get("/read")
def read():
    target = storage_path(request.args.get("name", ""))
    try:
        with open(target) as f:
            return f.read(), 200, TEXT
    except FileNotFoundError:
        abort(404)


@app.get("/whoami")
def whoami():
    return f"{os.getuid()} {os.getgid()}", 200, TEXT


@app.get("/env/<key>")
def env(key):
    if key not in os.environ:
        abort(404)
    return os.environ[key], 200, TEXT
