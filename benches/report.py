"""Runs benches/bench.py in each mode, for each Python and heap size, and
prints the table (scripts/bench is the way in)."""

import argparse
import json
import re
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "refgraph")


# --interpreter VERSION=PATH (scripts/bench passes what find_python found)
INTERPRETERS = {}


def python_for(version):
    if version in INTERPRETERS:
        return INTERPRETERS[version]
    root = subprocess.check_output(["pyenv", "root"], universal_newlines=True).strip()
    found = sorted(v for v in os.listdir(os.path.join(root, "versions")) if v.startswith(version + "."))
    return os.path.join(root, "versions", found[-1], "bin", "python")


def bench_venv(version):
    """A venv with the peers (objgraph, guppy3) for this Python. A peer that
    does not install (guppy3 on a Python too new for it) is reported, and its
    column says "error"."""
    tag = "cp" + version.replace(".", "")
    venv = os.path.join(ROOT, "target", "bench", "venv-" + tag)
    py = os.path.join(venv, "bin", "python")
    base = python_for(version)
    ready = os.path.join(venv, ".ready")
    if not os.path.exists(ready) or open(ready).read().strip() != base:
        subprocess.check_call([base, "-m", "venv", "--clear", venv])
        for peer in ("objgraph", "guppy3"):
            if subprocess.call([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", peer]) != 0:
                sys.stderr.write("bench: %s does not install on Python %s; its column will say error\n" % (peer, version))
        with open(ready, "w") as f:
            f.write(base + "\n")
    return py, tag


def py27_site():
    """objgraph 3.5 (the last for Python 2) in a folder of its own."""
    site = os.path.join(ROOT, "target", "bench", "site-cp27")
    if not os.path.exists(os.path.join(site, ".ready")):
        subprocess.check_call([python_for("2.7"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               "--target", site, "objgraph==3.5.0"])
        open(os.path.join(site, ".ready"), "w").close()
    return site


def measure(py, tag, mode, calls, repeats, timeout, pythonpath=None):
    env = dict(os.environ, PYTHONPATH=pythonpath or os.path.join(ROOT, "target", "pyext", tag))
    try:
        out = subprocess.run([py, os.path.join(ROOT, "benches", "bench.py"), mode, str(calls), str(repeats)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                             timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "exit %d" % out.returncode}
    return json.loads(out.stdout.strip().splitlines()[-1])


def python27(a):
    """Python 2.7: the pure-Python collector, then the refgraph command for
    the root paths, against objgraph 3.5 and 2.7's own gc.collect()."""
    py, site = python_for("2.7"), py27_site()
    rows = []
    for calls in [int(c) for c in a.calls.split()]:
        sys.stderr.write("measuring Python 2.7, %d calls...\n" % calls)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "heap.rgs")
            os.environ["REFGRAPH_BENCH_OUT"] = path
            pure = measure(py, "cp27", "pure", calls, 1, 3600, os.path.join(ROOT, "python"))
            del os.environ["REFGRAPH_BENCH_OUT"]
            times = []
            for _ in range(3):
                t = time.perf_counter()
                out = subprocess.run([BIN, "path", path, "--select", "dict~^logging namespace", "--max-targets", "1",
                                      "--format", "json"], stdout=subprocess.PIPE, check=True)
                times.append(time.perf_counter() - t)
            paths = json.loads(out.stdout)[0]["paths"]
        og = measure(py, "cp27", "objgraph", calls, 1, a.peers_timeout, site)
        rows.append({"python": "2.7", "calls": calls, "pure": pure, "cli_path": statistics.median(times),
                     "root": paths[0][0]["root"] if paths else None, "objgraph": og})
    return rows


def cli_load(py, tag, calls):
    """Seconds the refgraph command takes to load a snapshot of this heap
    (written by `refgraph run`, whose heap is not quite the in-process one),
    the file's size, and its node and edge counts."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "heap.rgs")
        env = dict(os.environ, REFGRAPH_PYTHONPATH=os.path.join(ROOT, "target", "pyext", tag))
        subprocess.run([BIN, "run", "-o", path, "--", py, os.path.join(ROOT, "examples", "hot_reload", "plat.py"),
                        str(calls)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            out = subprocess.run([BIN, "summary", path, "--top", "1"], stdout=subprocess.PIPE, check=True).stdout
            times.append(time.perf_counter() - t)
        # "PATH: N objects, M references, R roots"
        counts = re.search(r": (\d+) objects, (\d+) references", out.decode("utf-8", "replace"))
        nodes, edges = (int(counts.group(1)), int(counts.group(2))) if counts else (0, 0)
        return statistics.median(times), os.path.getsize(path), nodes, edges


def fmt(v, timeout=None):
    if isinstance(v, dict):
        return "> %ds" % v["timeout"] if "timeout" in v else "error"
    if v is None:
        return "-"
    return "%.3f s" % v if v >= 0.1 else "%.1f ms" % (v * 1000)


def ratio(a, b):
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return "-"
    return "%.2f" % (a / b)


def python27_row(x):
    p, og = x["pure"], x["objgraph"]
    if "snapshot" not in p:
        return ["2.7", str(x["calls"]), "pure collector failed: %s" % p]
    ours = p["snapshot"] + x["cli_path"]
    chain = og.get("find_backref_chain", og if "timeout" in og else None)
    return ["2.7 (pure)", str(x["calls"]), "%dk/%dk/%dk" % (p["tracked"] / 1000, p["nodes"] / 1000, p["edges"] / 1000),
            fmt(p["gc_collect"]), fmt(p["snapshot"]), ratio(p["snapshot"], p["gc_collect"]),
            fmt(x["cli_path"]) + " (cli)", "-", "-", "-", "-", "-", "-",
            fmt(chain), ratio(chain, ours) if isinstance(chain, float) else "-",
            {True: "yes", False: "no: " + og.get("root_found", "?")}.get(og.get("root_is_real"), "-"),
            "-", "-", "yes: " + x["root"] if x["root"] else "no"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", default="100 1000")
    ap.add_argument("--pythons", default="3.11 3.13")
    ap.add_argument("--peers-timeout", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--interpreter", action="append", default=[], metavar="VERSION=PATH",
                    help="the interpreter for a version of --pythons (default: pyenv's newest)")
    a = ap.parse_args()
    for spec in a.interpreter:
        version, _, path = spec.partition("=")
        INTERPRETERS[version] = path
    results = []
    for version in a.pythons.split():
        if version == "2.7":
            results.extend(python27(a))
            continue
        py, tag = bench_venv(version)
        for calls in [int(c) for c in a.calls.split()]:
            sys.stderr.write("measuring Python %s, %d calls...\n" % (version, calls))
            r = measure(py, tag, "refgraph", calls, a.repeats, 3600)
            rss = measure(py, tag, "rss", calls, 1, 3600)
            og = measure(py, tag, "objgraph", calls, 1, a.peers_timeout)
            gp = measure(py, tag, "guppy", calls, 1, a.peers_timeout)
            load, size, file_nodes, file_edges = cli_load(py, tag, calls)
            results.append({"python": version, "calls": calls, "refgraph": r, "rss": rss, "objgraph": og,
                            "guppy": gp, "cli_load": load, "file_bytes": size,
                            "file_nodes": file_nodes, "file_edges": file_edges})
    machine = {"cores": os.cpu_count(), "machine": platform.machine(), "system": platform.system()}
    with open(os.path.join(ROOT, "target", "bench", "results.json"), "w") as f:
        json.dump({"machine": machine, "results": results, "when": time.strftime("%Y-%m-%d")}, f, indent=1)
    print_table(results, machine)


def print_table(results, machine):
    print("refgraph benchmark: seed hot-reload heap; %d cores; medians; ratios against the same run" % machine["cores"])
    cols = ["python", "calls", "tracked/nodes/edges", "gc.collect", "snapshot", "snap/gc",
            "root_paths", "backrefs(10)", "save", "load(lib)", "load(cli)", "B/edge", "peak+RSS",
            "objgraph chain", "og/refgraph", "og root real?", "guppy heap+sp", "guppy/refgraph", "refgraph root real?"]
    rows = []
    for x in results:
        if "pure" in x:
            rows.append(python27_row(x))
            continue
        r, og, gp = x["refgraph"], x["objgraph"], x["guppy"]
        if "error" in r or "timeout" in r:
            rows.append([x["python"], str(x["calls"]), "refgraph failed: %s" % r])
            continue
        ours = r["snapshot"] + r["root_paths"]
        og_chain = og.get("find_backref_chain", og if "timeout" in og else None)
        gp_total = (gp["heap"] + gp["sp"]) if "heap" in gp else (gp if "timeout" in gp else None)
        rss = x["rss"]
        rows.append([
            x["python"], str(x["calls"]),
            "%dk/%dk/%dk" % (r["tracked"] / 1000, r["nodes"] / 1000, r["edges"] / 1000),
            fmt(r["gc_collect"]), fmt(r["snapshot"]), ratio(r["snapshot"], r["gc_collect"]),
            fmt(r["root_paths"]), fmt(r["show_backrefs"]), fmt(r["save"]), fmt(r["load"]),
            "%s (%dk/%dk)" % (fmt(x["cli_load"]), x["file_nodes"] / 1000, x["file_edges"] / 1000),
            "%.1f" % (x["file_bytes"] / float(max(1, x["file_edges"]))),
            "%.0f%%" % (100.0 * rss.get("peak_added_kib", 0) / max(1, rss.get("rss_kib", 1))),
            fmt(og_chain), ratio(og_chain, ours) if isinstance(og_chain, float) else ("> %s" % ratio(og_chain["timeout"], ours) if isinstance(og_chain, dict) and "timeout" in og_chain else "-"),
            {True: "yes", False: "no: " + og.get("root_found", "?")}.get(og.get("root_is_real"), "-"),
            fmt(gp_total), ratio(gp_total, ours) if isinstance(gp_total, float) else ("> %s" % ratio(gp_total["timeout"], ours) if isinstance(gp_total, dict) and "timeout" in gp_total else "-"),
            "yes: " + ", ".join(r["root_kinds"]) if r["root_is_real"] else "no",
        ])
    widths = [max(len(c), *(len(row[i]) for row in rows if i < len(row))) for i, c in enumerate(cols)]
    print(" | ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)))


if __name__ == "__main__":
    main()
