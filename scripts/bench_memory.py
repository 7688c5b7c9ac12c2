"""One measurement of scripts/bench-memory, in a fresh process: builds the
seed's hot-reload heap (CALLS requests), then writes a snapshot in MODE and
prints one JSON line: the process RSS before the capture and the peak the
capture and its writing added (VmHWM, reset just before it through /proc/self/clear_refs).

    python bench_memory.py MODE CALLS OUT      (MODE: normal | streaming)
"""

import gc
import json
import os
import sys
import time


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no %s in /proc/self/status" % field)


def main():
    mode, calls, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "examples", "hot_reload"))
    import plat
    import refgraph

    for _ in range(calls):
        plat.callOne()
    gc.collect()
    tracked = len(gc.get_objects())
    gc.collect()
    rss = status("VmRSS")
    # Resets VmHWM to the current RSS (Linux 4.0+), so that the peak below is this capture's.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    start = time.time()
    if mode == "normal":
        # A heap to query in the process, then saved.
        snap = refgraph.snapshot()
        snap.save(out)
        del snap
    elif mode == "streaming":
        refgraph.snapshot(path=out)
    else:
        raise SystemExit("unknown mode %r" % mode)
    seconds = time.time() - start
    peak = status("VmHWM")
    print(json.dumps({"mode": mode, "calls": calls, "tracked": tracked, "rss": rss, "added": peak - rss,
                      "seconds": seconds, "file": os.path.getsize(out)}))


if __name__ == "__main__":
    main()
