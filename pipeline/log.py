"""Output with Dokku's prefixes. Errors and warnings go to stderr; `--quiet` drops the
step/section/detail decoration, never data or errors."""
import sys

QUIET = False


def set_quiet(value: bool) -> None:
    global QUIET
    QUIET = value


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def step(text: str) -> None:
    if not QUIET:
        _out("-----> " + text)


def section(text: str) -> None:
    if not QUIET:
        _out("=====> " + text)


def detail(text: str) -> None:
    if not QUIET:
        _out("       " + text)


def data(text: str) -> None:
    """Raw output that is the answer itself (never dropped by --quiet)."""
    _out(text)


def warn(text: str) -> None:
    sys.stderr.write(" !     " + text + "\n")
    sys.stderr.flush()


error = warn
