"""Bench: requests per second through nginx against requests straight to the app's published
port, the same load generator, the same app, the same run.

    python3 bench/proxy_throughput.py [--rounds 7] [--seconds 3] [--clients 8] [--no-fail] [--keep] [--dokku PATH]

Needs the Docker engine, the stack image, git and the host's nginx running (scripts/start-services),
as root. Builds a throwaway DOKKU_ROOT / DOKKU_LIB_ROOT under /tmp (bench/ps_restart.py's
`Throwaway`), points its proxy at a free loopback port (`proxy:set --global port <free>`,
`bind-address 127.0.0.1`, `domains:set-global <random>.test`) and deploys samples/stdlib-web, whose
`GET /` is the trivial answer measured.

The load generator is pure Python (no wrk or ab to install): `--clients` threads, each sending GET /
one after another on a keep-alive `http.client` connection (reopened whenever the server closes
it; stdlib-web answers HTTP/1.0 and closes, nginx keeps the client's connection open), for
`--seconds`. Only 200 answers with the expected body count; any other answer or exception is an
error, and errors fail the bench. The two targets alternate, direct then nginx, for `--rounds`
rounds after one untimed warm-up of each, so load from other work on the machine falls on both
alike.

Target (issue 4): the median requests per second through nginx >= 0.7x the median straight to the
published port. Exit status 1 when missed (or on errors), unless --no-fail.
"""
from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ps_restart import Throwaway, add_engine_bench_flags, throwaway_for  # noqa: E402

TARGET = 0.7  # through nginx / direct, requests per second, at least


def load(port: int, host: str, expected: str, clients: int, seconds: float) -> tuple[float, list[str]]:
    """Requests per second of `clients` threads sending GET / for `seconds`; and the errors."""
    counts = [0] * clients
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Host": host}
        start.wait()
        while time.monotonic() < stop_at[0]:
            try:
                conn.request("GET", "/", headers=headers)
                response = conn.getresponse()
                body = response.read().decode(errors="replace")
                if response.status == 200 and body == expected:
                    counts[index] += 1
                else:
                    errors.append(f"HTTP {response.status} {body[:80]!r}")
                if response.will_close:
                    conn.close()  # the next request opens a new connection
            except Exception as err:
                errors.append(f"{type(err).__name__}: {err}")
                conn.close()
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    elapsed = time.monotonic() - began
    return sum(counts) / elapsed, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of each (at least 5)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    add_engine_bench_flags(parser)
    args = parser.parse_args(argv)
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")

    plat = throwaway_for(args, "bench-proxy-throughput-")
    try:
        nginx_port, domain = plat.behind_nginx()
        app = plat.new_app("rps")
        pushed = plat.deploy_sample(app)
        host = f"{app}.{domain}"
        direct_port = plat.web_port(app)
        release = sh_head(plat, app)
        expected = f"stdlib-web ok {release}"
        targets = {"direct": (direct_port, "localhost"), "nginx": (nginx_port, host)}
        for name, (port, hostname) in targets.items():
            rps, errors = load(port, hostname, expected, 1, 0.2)
            if errors or rps == 0:
                raise RuntimeError(f"{name} (127.0.0.1:{port}, Host: {hostname}) does not answer {expected!r}: "
                                   f"{errors[:3]}")
        print(f"dokku: {plat.dokku_path}\nroot: {plat.base}\napp: {app} (samples/stdlib-web, web=1), pushed in {pushed:.1f}s\n"
              f"direct: 127.0.0.1:{direct_port}; nginx: 127.0.0.1:{nginx_port}, Host: {host}\n"
              f"load: {args.clients} threads, keep-alive http.client, GET /, {args.seconds:g}s a measurement; "
              f"{args.rounds} alternating rounds after one warm-up, medians\n", flush=True)

        samples: dict[str, list[float]] = {name: [] for name in targets}
        errors: list[str] = []
        for round_ in range(-1, args.rounds):
            for name, (port, hostname) in targets.items():
                rps, errs = load(port, hostname, expected, args.clients, args.seconds)
                errors += errs
                if round_ >= 0:
                    samples[name].append(rps)
            if round_ >= 0:
                print(f"round {round_ + 1}: direct {samples['direct'][-1]:8.0f} req/s   "
                      f"nginx {samples['nginx'][-1]:8.0f} req/s", flush=True)
        direct = statistics.median(samples["direct"])
        through = statistics.median(samples["nginx"])
        ratio = through / direct if direct else 0.0
        print(f"\n{'straight to the published port':<32} median {direct:8.0f} req/s  (min {min(samples['direct']):.0f}, "
              f"max {max(samples['direct']):.0f})  baseline")
        print(f"{'through nginx':<32} median {through:8.0f} req/s  (min {min(samples['nginx']):.0f}, "
              f"max {max(samples['nginx']):.0f})  {ratio:.2f}x  target >= {TARGET:g}x")
        print(f"errors: {len(errors)} {errors[:5]}")
        ok = ratio >= TARGET and not errors
        print(f"nginx / direct = {ratio:.2f}x (target >= {TARGET:g}x): {'ok' if ok else 'MISSED'}")
        return 0 if ok or args.no_fail else 1
    finally:
        plat.close(keep=args.keep)


def sh_head(plat: Throwaway, app: str) -> str:
    """The deployed commit (what stdlib-web's GET / names)."""
    from ps_restart import sh
    return sh("git", "--git-dir", str(plat.root / app), "rev-parse", "refs/heads/main").stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
