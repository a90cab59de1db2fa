"""Typed errors raised deep in the code and printed once, by `pipeline.cli`, with the
` !     ` prefix and their exit code."""


class DokkuError(Exception):
    """A user-facing error: one line saying what went wrong and how to fix it."""

    exit_code = 1


class UsageError(DokkuError):
    """Unknown command or flag."""

    exit_code = 2


class AppNotFound(DokkuError):
    exit_code = 20

    def __init__(self, app: str):
        super().__init__(f"App {app} does not exist")
        self.app = app


class Quiet(Exception):
    """Stop with an exit code and no further message (the message was already printed)."""

    def __init__(self, exit_code: int = 0):
        super().__init__(exit_code)
        self.exit_code = exit_code
