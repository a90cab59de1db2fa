"""A worker process type that does nothing useful: it ticks until SIGTERM."""
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("worker started", flush=True)
while True:
    time.sleep(5)
    print("worker tick", flush=True)
