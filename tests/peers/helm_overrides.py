"""Overrides and refusals through Helm's own engine (helm-python-sdk).

Usage: helm_overrides.py ROOT   (the repository root; uses committed out/ trees)

Each case renders a chart with default values and with an override, and
checks that exactly the expected fields changed. Then values that break the
chart's values.schema.json (or its template guards) must be refused.
Exits 1 with a report on any failure.
"""

import json
import os
import re
import sys

import helm_python as helm
import yaml

from helm_check import diff, docs, key


def render(chart_dir, values, name, namespace):
    with helm.Chart.load(chart_dir) as chart:
        out = chart.render(values, name=name, namespace=namespace)
    objs = {}
    for path, text in out.items():
        if path.endswith("NOTES.txt"):
            continue
        for d in docs(text):
            objs[key(d)] = d
    return objs


def changes(before, after):
    """Every difference as (object key, path, old, new)."""
    out = []
    for k in sorted(set(before) | set(after), key=str):
        if k not in after:
            out.append((k, "", "present", "absent"))
        elif k not in before:
            out.append((k, "", "absent", "present"))
        else:
            for d in diff(before[k], after[k]):
                out.append((k, d, None, None))
    return out


def get(objs, kind, name, *path):
    v = objs[(kind, name)]
    for p in path:
        v = v[p]
    return v


FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)


def case(label, chart_dir, svc, ns, values, allowed, required):
    """allowed: regexes over 'Kind/name<path>' lines; required: callables."""
    base = render(chart_dir, {}, svc, ns)
    new = render(chart_dir, values, svc, ns)
    ch = changes(base, new)
    lines = [f"{k[0]}/{k[1]}{d}" if d else f"{k[0]}/{k[1]} {old}->{newv}"
             for k, d, old, newv in ch]
    check(ch, f"{label}: override changed nothing")
    for line in lines:
        if not any(re.fullmatch(a, line) for a in allowed):
            FAILS.append(f"{label}: unexpected change: {line}")
    for r in required:
        try:
            ok = r(base, new)
        except (KeyError, IndexError, TypeError) as e:
            ok = False
            FAILS.append(f"{label}: {e!r}")
        check(ok, f"{label}: expected change missing ({r.__doc__ or r})")
    print(f"case {label}: {len(lines)} changed fields")


def refused(label, chart_dir, svc, ns, values, where):
    try:
        render(chart_dir, values, svc, ns)
    except helm.HelmError as e:
        msg = " ".join(str(e).split())
        check(where in msg, f"{label}: refused, but the message does not name {where!r}: {msg}")
        print(f"refused {label}: {msg[:160]}")
        return
    FAILS.append(f"{label}: values {values!r} were accepted")


def main(root):
    ex = os.path.join(root, "examples")
    student = os.path.join(ex, "karina/out/charts/student")
    checkout = os.path.join(ex, "strategies/out/charts/checkout")
    search = os.path.join(ex, "strategies/out/charts/search")
    cache = os.path.join(root, "golden/edge-cases/out/charts/cache")
    version = r"[A-Za-z]+/[-a-z]+/metadata/labels/app.kubernetes.io/version: .*"
    pod_version = r"Deployment/[-a-z]+/spec/template/metadata/labels/app.kubernetes.io/version: .*"

    case("replicas with HPA off", student, "student", "services",
         {"replicas": 7, "autoscaling": {"enabled": False}},
         [r"HorizontalPodAutoscaler/student present->absent",
          r"Deployment/student/spec/replicas: missing in helm render"],
         [lambda b, n: get(n, "Deployment", "student", "spec", "replicas") == 7,
          lambda b, n: ("HorizontalPodAutoscaler", "student") not in n])

    case("image tag", student, "student", "services",
         {"image": {"tag": "1.4.3-0000000"}},
         [version, pod_version,
          r"Deployment/student/spec/template/spec/containers/0/image: .*"],
         [lambda b, n: get(n, "Deployment", "student", "spec", "template", "spec",
                           "containers", 0, "image").endswith("/student:1.4.3-0000000"),
          lambda b, n: get(n, "Service", "student", "metadata", "labels",
                           "app.kubernetes.io/version") == "1.4.3-0000000"])

    case("HPA max", student, "student", "services",
         {"autoscaling": {"maxReplicas": 9}},
         [r"HorizontalPodAutoscaler/student/spec/maxReplicas: 4 != 9"],
         [lambda b, n: get(n, "HorizontalPodAutoscaler", "student", "spec", "maxReplicas") == 9])

    case("blue-green switch", checkout, "checkout", "shop",
         {"strategy": {"blueGreen": {"live": "blue"}}},
         [r"Service/checkout/spec/selector/gen.dev/track: 'green' != 'blue'",
          r"PodDisruptionBudget/checkout/spec/selector/matchLabels/gen.dev/track: 'green' != 'blue'",
          r"(Service|PodDisruptionBudget|Ingress|NetworkPolicy|ServiceAccount)/checkout/metadata/labels/app.kubernetes.io/version: .*"],
         [lambda b, n: get(n, "Service", "checkout", "spec", "selector", "gen.dev/track") == "blue"])

    case("canary weight", search, "search", "shop",
         {"strategy": {"canary": {"weight": 50}}},
         [r"Ingress/search-canary/metadata/annotations/nginx.ingress.kubernetes.io/canary-weight: '20' != '50'"],
         [lambda b, n: get(n, "Ingress", "search-canary", "metadata", "annotations",
                           "nginx.ingress.kubernetes.io/canary-weight") == "50"])

    case("ingress off", student, "student", "services",
         {"ingress": {"enabled": False}},
         [r"Ingress/student present->absent",
          r"NetworkPolicy/student/spec/ingress: \d items != \d items"],
         [lambda b, n: ("Ingress", "student") not in n])

    bad = [
        ("replicas not a number", {"replicas": "abc"}, "/replicas"),
        ("negative HPA max", {"autoscaling": {"maxReplicas": -1}}, "/autoscaling/maxReplicas"),
        ("latest tag", {"image": {"tag": "latest"}}, "/image"),
        ("unpinned image", {"image": {"tag": "", "digest": ""}}, "/image"),
        ("bad digest", {"image": {"digest": "sha256:xyz"}}, "/image/digest"),
        ("unknown strategy", {"strategy": {"type": "sideways"}}, "/strategy/type"),
        ("canary without its block", {"strategy": {"type": "canary"}}, "canary"),
        ("port out of range", {"service": {"port": 70000}}, "/service/port"),
        ("paths not a list", {"ingress": {"paths": "/x"}}, "/ingress/paths"),
        ("cpu request not a quantity", {"resources": {"requests": {"cpu": True}}},
         "/resources/requests/cpu"),
        ("typo in securityContext", {"securityContext": {"runAsNonRot": True}},
         "runAsNonRot"),
        ("unknown top-level key", {"replicaCount": 3}, "replicaCount"),
        ("canary weight over 100", {"strategy": {"type": "canary", "canary": {
            "weight": 101, "replicas": 1,
            "image": {"repository": "x/y", "tag": "1", "digest": ""}}}},
         "/strategy/canary/weight"),
        ("HPA min above max", {"autoscaling": {"minReplicas": 5, "maxReplicas": 3}},
         "minReplicas must not exceed"),
    ]
    for label, values, where in bad:
        refused(label, student, "student", "services", values, where)

    # A service that waives image-latest accepts it, through Helm too.
    try:
        render(cache, {"image": {"tag": "latest"}}, "cache", "edge")
        print("accepted latest on the waived chart")
    except helm.HelmError as e:
        FAILS.append(f"waived latest refused: {e}")

    if FAILS:
        print("FAILURES:")
        for f in FAILS:
            print("  ", f)
        return 1
    print(json.dumps({"refused": len(bad), "failures": 0}))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.exit(main(sys.argv[1]))
