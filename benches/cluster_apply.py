#!/usr/bin/env python3
"""gen apply on a real control plane, side by side with kubectl and with
the server's own ceiling, in one run.

On the control plane of scripts/testcluster.sh (etcd, kube-apiserver,
kube-controller-manager built from their Go modules, on 127.0.0.1), for a
synthetic catalog of N services (benches/gen_catalog.py):

  gen       `gen apply CATALOG --context testcluster` into empty namespaces
  kubectl   `kubectl apply --server-side` of the same objects (`gen build`'s
            out/manifests: the Namespaces first, then -R the rest) into
            other empty namespaces
  ceiling   the server-side apply requests per second the server sustains
            for trivial ConfigMaps from a tight concurrent Go client
            (scripts/testcluster/k8s/ssaceiling, as many workers as gen
            keeps requests in flight): the issue's definition
  same      the same Go client applying the same objects once each (a third
            copy of the catalog, other namespaces), the Namespaces first and
            then everything else at once, no order, as many in flight as
            gen: the fastest any client could put these objects on this
            server, which is the fair 100% for gen's objects per second

Each run uses fresh namespaces, so every run creates every object. It checks
that both tools leave the same objects, then prints the medians and the
ratios the targets are stated in (gen at least 2x faster than kubectl; gen's
objects per second at least 70% of the ceiling).

By default the control plane runs without kube-controller-manager, so the
figures are the client's and the server's alone: with the controllers, each
Deployment gen or kubectl creates makes them create a ReplicaSet, its pods
and their events at the same time, on the same two cores
(`--controllers` measures that too).

Usage: python3 benches/cluster_apply.py [--services 200] [--runs 3] [--controllers]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".tools", "bin")
NAMESPACES = ["platform", "services", "storage", "monitoring"]
KINDS = "serviceaccounts,configmaps,services,deployments,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,ingresses"
WORKERS = 16  # gen's src/apply/engine.rs CONCURRENCY


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def catalog(n, prefix, project):
    text = run([sys.executable, os.path.join(ROOT, "benches", "gen_catalog.py"), str(n)])
    text = text.replace("project: bench", f"project: {project}", 1)
    text = text.replace(
        "namespaces: {platform: {}, services: {}, storage: {}, monitoring: {}}",
        "namespaces: {" + ", ".join(f"{prefix}{ns}: {{}}" for ns in NAMESPACES) + "}",
    )
    return re.sub(r"namespace: (\w+)", lambda m: f"namespace: {prefix}{m.group(1)}", text)


def objects(kubeconfig, prefix):
    """kind/name of every object gen or kubectl created under the prefix."""
    names = []
    for ns in NAMESPACES:
        out = run([os.path.join(BIN, "kubectl"), "--kubeconfig", kubeconfig, "get", KINDS,
                   "-n", prefix + ns, "-o", "name"])
        names += [l for l in out.splitlines()
                  if l.strip() and l not in ("serviceaccount/default", "configmap/kube-root-ca.crt")
                  and not l.startswith("configmap/gen-applyset-")]
    return sorted(n.replace(prefix, "") for n in names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--controllers", action="store_true")
    args = ap.parse_args()

    run(["bash", os.path.join(ROOT, "scripts", "testcluster.sh"), "build"])
    run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT)
    gen = os.path.join(ROOT, "target", "release", "gen")
    work = tempfile.mkdtemp(prefix="gen-cluster-bench-")
    plane = os.path.join(work, "plane")
    up = ["bash", os.path.join(ROOT, "scripts", "testcluster.sh"), "up", plane, "--watch", str(os.getpid())]
    if not args.controllers:
        up.append("--no-controllers")
    kubeconfig = run(up).strip().splitlines()[-1]
    try:
        rows = {"gen": [], "kubectl": [], "ceiling": [], "same": []}
        count = None
        for i in range(args.runs):
            # gen
            g = os.path.join(work, f"g{i}")
            os.makedirs(g)
            with open(os.path.join(g, "catalog.yaml"), "w") as f:
                f.write(catalog(args.services, f"g{i}-", f"benchg{i}"))
            t = time.perf_counter()
            run([gen, "apply", "catalog.yaml", "--context", "testcluster", "--kubeconfig", kubeconfig],
                cwd=g, env={**os.environ, "NO_COLOR": "1"})
            rows["gen"].append(time.perf_counter() - t)
            # kubectl, on gen build's manifests of an identical catalog
            k = os.path.join(work, f"k{i}")
            os.makedirs(k)
            with open(os.path.join(k, "catalog.yaml"), "w") as f:
                f.write(catalog(args.services, f"k{i}-", f"benchk{i}"))
            run([gen, "build", "catalog.yaml", "--out", "out"], cwd=k)
            manifests = os.path.join(k, "out", "manifests")
            kubectl = [os.path.join(BIN, "kubectl"), "--kubeconfig", kubeconfig, "apply", "--server-side"]
            t = time.perf_counter()
            run(kubectl + ["-f", os.path.join(manifests, "namespaces.yaml")])
            run(kubectl + ["-R", "-f", manifests])
            rows["kubectl"].append(time.perf_counter() - t)
            a, b = objects(kubeconfig, f"g{i}-"), objects(kubeconfig, f"k{i}-")
            if a != b:
                sys.exit(f"different end states: gen {len(a)} objects, kubectl {len(b)}")
            count = len(a) + len(NAMESPACES)
            # the ceiling
            out = run([os.path.join(BIN, "ssaceiling"), "--kubeconfig", kubeconfig,
                       "--workers", str(WORKERS), "--seconds", "8"])
            rows["ceiling"].append(json.loads(out)["per_second"])
            # the same objects, as fast as a tight client can apply them
            c = os.path.join(work, f"c{i}")
            os.makedirs(c)
            with open(os.path.join(c, "catalog.yaml"), "w") as f:
                f.write(catalog(args.services, f"c{i}-", f"benchc{i}"))
            run([gen, "build", "catalog.yaml", "--out", "out"], cwd=c)
            out = run([os.path.join(BIN, "ssaceiling"), "--kubeconfig", kubeconfig,
                       "--workers", str(WORKERS), "--manifests", os.path.join(c, "out", "manifests")])
            rows["same"].append(json.loads(out)["seconds"])
            if objects(kubeconfig, f"c{i}-") != a:
                sys.exit("the tight client left other objects than gen")
        gen_s = statistics.median(rows["gen"])
        kubectl_s = statistics.median(rows["kubectl"])
        ceiling = statistics.median(rows["ceiling"])
        same_s = statistics.median(rows["same"])
        gen_rate = count / gen_s
        print(f"{args.services} services, {count} objects each, {args.runs} runs (median; min-max), "
              f"controllers {'on' if args.controllers else 'off'}")
        print(f"  gen apply                {gen_s:7.2f} s  ({min(rows['gen']):.2f}-{max(rows['gen']):.2f})  {gen_rate:7.1f} objects/s")
        print(f"  kubectl apply --server-side {kubectl_s:4.2f} s  ({min(rows['kubectl']):.2f}-{max(rows['kubectl']):.2f})  {count / kubectl_s:7.1f} objects/s")
        print(f"  server SSA ceiling ({WORKERS} workers)          {ceiling:7.1f} requests/s ({min(rows['ceiling']):.1f}-{max(rows['ceiling']):.1f})")
        print(f"  tight client, same objects {same_s:5.2f} s  ({min(rows['same']):.2f}-{max(rows['same']):.2f})  {count / same_s:7.1f} objects/s")
        print(f"  kubectl / gen time: {kubectl_s / gen_s:.2f}x   gen / ceiling: {100 * gen_rate / ceiling:.0f}%   "
              f"gen / same-object ceiling: {100 * same_s / gen_s:.0f}%")
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "testcluster.sh"), "down", plane])


if __name__ == "__main__":
    main()
