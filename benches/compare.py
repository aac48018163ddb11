#!/usr/bin/env python3
"""gen side by side with its peers, in one run; prints a Markdown report.

Usage (from the repository root, after `bash scripts/test.sh` made the venvs):
    .venv/bin/python benches/compare.py [--runs N] [--quick] > /tmp/bench.md
    python3 benches/compare.py --only-check [--runs N]   # section 6 alone, no venv

Measures (medians of N runs, default 5; the slow peers run min(N, 3) times):
  1. `gen build` vs `cp -r` of the tree it produced (the I/O floor), 1000 services
  2. scaling 1000 -> 5000 services: time and peak RSS of `gen build`
  3. `gen build` (which validates every object against the Kubernetes
     OpenAPI schema) vs `kubernetes-validate --strict` on its manifests
  4. `gen lint` vs checkov (kubernetes framework, offline) on a 200-service output
  5. `gen build` (renders every chart's objects) vs Helm's own engine
     (helm-python-sdk: load + render every chart), 100 services
  6. `gen build --check` on each example, whole process
"""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "target", "release", "gen")
VENV = os.environ.get("GEN_VENV", os.path.join(ROOT, ".venv"))
CKV = os.environ.get("GEN_CHECKOV_VENV", os.path.join(ROOT, ".venv-checkov"))
RUNS = 5
for i, a in enumerate(sys.argv):
    if a == "--runs":
        RUNS = int(sys.argv[i + 1])
QUICK = "--quick" in sys.argv
ONLY_CHECK = "--only-check" in sys.argv


def run(cmd, **kw):
    """Wall time of one run (seconds) and the child's peak RSS (MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    dt = time.perf_counter() - t
    if p.returncode not in (0, 1):  # 1: lint found errors, still a complete run
        raise SystemExit(f"{cmd}: exit {p.returncode}\n{p.stderr.decode()[-2000:]}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dt, max(rss, before) / 1024


def peak_rss(cmd):
    """Peak RSS of one process (MiB), via /usr/bin/time."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    return int(p.stderr.strip().splitlines()[-1]) / 1024


def median(f, n):
    xs = [f() for _ in range(n)]
    return statistics.median(xs)


def catalog(dirpath, n):
    os.makedirs(dirpath, exist_ok=True)
    path = os.path.join(dirpath, "catalog.yaml")
    with open(path, "w") as f:
        subprocess.run([sys.executable, os.path.join(ROOT, "benches", "gen_catalog.py"), str(n)],
                       stdout=f, check=True)
    return path


def gen_build(cat, out):
    def once():
        shutil.rmtree(out, ignore_errors=True)
        return run([GEN, "build", cat, "--out", out, "--allow-lint-errors"])[0]
    return once


def check_examples(rows):
    """6: `gen build --check` on each example, whole process (spawn included)."""
    for ex in ["karina", "msa-k3s", "ordersystem", "strategies"]:
        cat = os.path.join(ROOT, "examples", ex, "catalog.yaml")
        t = median(lambda: run([GEN, "build", cat, "--check"])[0], max(RUNS, 10))
        rows.append((f"gen build --check, examples/{ex} (whole process)", f"{t * 1000:.1f} ms", "20 ms",
                     t / 0.020, "<= 1.0x"))


def table(rows):
    out = ["| measurement | gen | peer / goal | ratio | goal |", "|---|---:|---:|---:|---|"]
    for name, a, b, ratio, goal in rows:
        out.append(f"| {name} | {a} | {b} | {ratio:.2f}x | {goal} |")
    return out


def main():
    if not os.path.exists(GEN):
        raise SystemExit("build first: cargo build --release")
    if ONLY_CHECK:
        # Section 6 alone: needs no venv and no peer tool.
        rows = []
        check_examples(rows)
        print("\n".join([f"Command: `python3 {' '.join(sys.argv)}` (medians of {max(RUNS, 10)} runs)", ""]
                        + table(rows)))
        return
    tmp = tempfile.mkdtemp(prefix="gen-bench-")
    rows = []
    report = ["# Benchmark run", "", f"Command: `{' '.join(['.venv/bin/python'] + sys.argv)}` "
              f"(medians of {RUNS} runs; slow peers {min(RUNS, 3)})", ""]

    # 1 and 2: build vs cp -r, scaling.
    sizes = [10, 100, 1000] + ([] if QUICK else [5000])
    build_t, build_rss = {}, {}
    for n in sizes:
        d = os.path.join(tmp, f"c{n}")
        cat = catalog(d, n)
        out = os.path.join(d, "out")
        build_t[n] = median(gen_build(cat, out), RUNS)
        build_rss[n] = peak_rss([GEN, "build", cat, "--out", out, "--allow-lint-errors"])
        if n == 1000:
            def cp():
                dst = os.path.join(d, "copy")
                shutil.rmtree(dst, ignore_errors=True)
                return run(["cp", "-r", out, dst])[0]
            cp_t = median(cp, RUNS)
            rows.append(("gen build vs cp -r of its tree, 1000 services",
                         f"{build_t[n]:.3f} s", f"{cp_t:.3f} s", build_t[n] / cp_t, "<= 1.5x"))
    report.append("| services | gen build (median) | peak RSS |")
    report.append("|---:|---:|---:|")
    for n in sizes:
        report.append(f"| {n} | {build_t[n]:.3f} s | {build_rss[n]:.0f} MiB |")
    report.append("")
    if 5000 in build_t:
        rows.append(("scaling 1000 -> 5000 services (time)", f"{build_t[5000]:.3f} s",
                     f"5 x {build_t[1000]:.3f} s", build_t[5000] / (5 * build_t[1000]), "<= 1.0x (linear)"))
        rows.append(("peak RSS at 5000 services", f"{build_rss[5000]:.0f} MiB", "300 MiB",
                     build_rss[5000] / 300, "<= 1.0x"))

    # 3: schema validation vs kubernetes-validate, 100 services.
    d = os.path.join(tmp, "c100")
    cat = os.path.join(d, "catalog.yaml")
    out = os.path.join(d, "out")
    gen_build(cat, out)()
    manifests = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(out, "manifests")) for f in fs]
    # gen's whole pipeline (parse, check, render every chart's objects,
    # validate each against the strict OpenAPI schema, emit every file, lint)
    # compared with the tree on disk instead of written: `gen build --check`.
    # File creation dominates `gen build` on slow disks; reading back does not.
    mem_t = median(lambda: run([GEN, "build", cat, "--out", out, "--check"])[0], RUNS)
    kv = os.path.join(VENV, "bin", "kubernetes-validate")
    kv_t = median(lambda: run([kv, "--strict", "--quiet", "-k", "1.33.0"] + manifests)[0], min(RUNS, 3))
    rows.append(("gen build --check (renders, validates every object, compares) vs kubernetes-validate --strict, 100 services",
                 f"{mem_t:.3f} s", f"{kv_t:.3f} s", kv_t / mem_t, ">= 50x faster"))
    rows.append(("gen build including writing 1600 files vs kubernetes-validate --strict, 100 services",
                 f"{build_t[100]:.3f} s", f"{kv_t:.3f} s", kv_t / build_t[100], "(for scale)"))

    # 5: rendering vs Helm's engine, 100 services.
    py = os.path.join(VENV, "bin", "python")
    helm_script = (
        "import os,sys,helm_python as h\n"
        "root=sys.argv[1]\n"
        "for s in sorted(os.listdir(root)):\n"
        "    with h.Chart.load(os.path.join(root,s)) as c:\n"
        "        c.render({}, name=s, namespace='services')\n"
    )
    helm_t = median(lambda: run([py, "-c", helm_script, os.path.join(out, "charts")])[0], min(RUNS, 3))
    rows.append(("gen build --check (renders every chart's objects and more) vs Helm engine load + render every chart, 100 services",
                 f"{mem_t:.3f} s", f"{helm_t:.3f} s", helm_t / mem_t, ">= 5x faster"))

    # 4: lint vs checkov, 200 services.
    d = os.path.join(tmp, "c200")
    cat = catalog(d, 200)
    out = os.path.join(d, "out")
    gen_build(cat, out)()
    lint_t = median(lambda: run([GEN, "lint", cat, "--format", "json"])[0], RUNS)
    ckv = os.path.join(CKV, "bin", "checkov")
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE")
    ckv_t = median(lambda: run([ckv, "-d", os.path.join(out, "manifests"), "--framework", "kubernetes",
                                "--skip-download", "--quiet", "--compact"], env=env)[0], min(RUNS, 3))
    rows.append(("gen lint vs checkov (kubernetes), 200 services", f"{lint_t:.3f} s", f"{ckv_t:.3f} s",
                 ckv_t / lint_t, ">= 100x faster"))

    # 6: --check on each example.
    check_examples(rows)

    report.extend(table(rows))
    print("\n".join(report))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
