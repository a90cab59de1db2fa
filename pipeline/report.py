"""`<plugin>:report [<app>] [--format stdout|json] [--<info-flag>]`, the same for every plugin.

A plugin gives `rows(app) -> {"--flag-name": "value", ...}` (ordered) and optionally
`json_extra(app) -> {key: value}` for typed extras in the JSON form.
"""
import json

from pipeline import cliargs, errors, log


def label(flag: str) -> str:
    words = flag.removeprefix("--").replace("-", " ").replace(".", " ")
    return (words[:1].upper() + words[1:] + ":").ljust(31)


def render(app: str, plugin: str, rows: dict[str, str]) -> None:
    log.section(f"{app} {plugin} information")
    for flag, value in rows.items():
        log.data("       " + label(flag) + value)


def run(args: list[str], plugin: str, rows, json_extra=None, apps=None) -> int:
    """`rows(app)` and `json_extra(app)` give the report of one app; `apps()` lists the apps
    (default: all). No `typing` import: it costs a state command more than its whole work."""
    positional, found = [], {}
    info_flags = []
    fmt_args = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--format" or word.startswith("--format="):
            if "=" in word:
                fmt_args.append(word)
            else:
                fmt_args.extend(args[i:i + 2])
                i += 1
        elif word.startswith("--"):
            info_flags.append(word)
        else:
            positional.append(word)
        i += 1
    _, found = cliargs.parse(fmt_args, {"--format": True})
    fmt = cliargs.output_format(found)
    cliargs.expect_at_most(positional, 1, f"{plugin}:report [<app>] [<flag>]")

    if positional:
        targets = [cliargs.require_app(positional[0])]
    else:
        targets = (apps or cliargs.all_apps)()
        if not targets:
            log.warn("You haven't deployed any applications yet")
            return 0

    def check_flag(table: dict) -> None:
        for flag in info_flags:
            if flag not in table:
                raise errors.DokkuError("Invalid flag passed, valid flags: " + ", ".join(sorted(table)))

    if info_flags:
        if len(info_flags) > 1:
            raise errors.DokkuError("Only one info flag may be passed at a time")
        for app in targets:
            table = rows(app)
            check_flag(table)
            log.data(table[info_flags[0]])
        return 0

    if fmt == "json":
        def as_json(app: str) -> dict:
            out = {flag.removeprefix("--"): value for flag, value in rows(app).items()}
            if json_extra:
                out.update(json_extra(app))
            return out
        if positional:
            log.data(json.dumps(as_json(targets[0])))
        else:
            log.data(json.dumps({app: as_json(app) for app in targets}))
        return 0

    for app in targets:
        render(app, plugin, rows(app))
    return 0
