"""Check gen's charts with Helm's own engine (helm-python-sdk).

Usage: helm_check.py OUT_DIR [OUT_DIR...]

For every chart under OUT_DIR/charts/<service>/:
  * `helm lint --strict` reports no error and no warning;
  * rendering with default values (release name = service, namespace = the
    service's namespace) parses to exactly the objects of
    OUT_DIR/manifests/<namespace>/<service>.yaml;
  * for every environment overlay values-<env>.yaml in the chart, `helm lint
    --strict` with it is clean and the render with it (as `-f` would pass
    it) parses to exactly the objects of
    OUT_DIR/environments/<env>/manifests/<namespace>/<service>.yaml; and
    every environment directory has an overlay in every chart.
Prints one line per chart and a JSON summary on the last line; exits 1 on
any failure.
"""

import json
import os
import sys

import helm_python as helm
import yaml


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def key(obj):
    return (obj.get("kind"), obj.get("metadata", {}).get("name"))


def rendered_objects(chart, values, name, namespace):
    out = chart.render(values, name=name, namespace=namespace)
    objs = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        objs.extend(docs(text))
    return objs


def diff(a, b, path=""):
    """First differences between two JSON-like values, as strings."""
    if type(a) is not type(b):
        return [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}/{k}: missing in helm render")
            elif k not in b:
                out.append(f"{path}/{k}: missing in gen manifests")
            else:
                out.extend(diff(a[k], b[k], f"{path}/{k}"))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)} items"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(diff(x, y, f"{path}/{i}"))
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def compare(helm_objs, gen_objs):
    problems = []
    h = {key(o): o for o in helm_objs}
    g = {key(o): o for o in gen_objs}
    if len(h) != len(helm_objs):
        problems.append("helm render has duplicate objects")
    for k in sorted(set(h) | set(g), key=str):
        if k not in h:
            problems.append(f"{k}: only in gen manifests")
        elif k not in g:
            problems.append(f"{k}: only in helm render")
        else:
            problems.extend(f"{k}{d}" for d in diff(h[k], g[k]))
    return problems


def invariants(objs):
    """Platform rules every rendered chart keeps."""
    out = []
    scaled = {o["spec"]["scaleTargetRef"]["name"] for o in objs
              if o.get("kind") == "HorizontalPodAutoscaler"}
    unpinned = 0
    for o in objs:
        if o.get("kind") != "Deployment":
            continue
        name = o["metadata"]["name"]
        if name in scaled and "replicas" in o["spec"]:
            out.append(f"Deployment {name} pins replicas under an HPA")
        for c in o["spec"]["template"]["spec"]["containers"]:
            req = c.get("resources", {}).get("requests", {})
            if "cpu" not in req or "memory" not in req:
                out.append(f"Deployment {name}: container {c['name']} lacks CPU/memory requests")
            image = c["image"]
            tail = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in tail or tail.endswith(":latest")):
                unpinned += 1
    return out, unpinned


def main(dirs):
    failures = 0
    charts = 0
    kinds = {}
    broken = []
    unpinned = 0
    env_renders = 0
    for out in dirs:
        root = os.path.join(out, "charts")
        for svc in sorted(os.listdir(root)):
            charts += 1
            chart_dir = os.path.join(root, svc)
            problems = []
            report = helm.lint(chart_dir, strict=True)
            for m in report.get("messages", []):
                if m["severity"] >= 2:
                    problems.append(f"lint: {m['path']}: {m['error']}")
            problems.extend(f"lint: {e}" for e in report.get("errors", []))
            chart = helm.Chart.load(chart_dir)
            # The namespace is the directory holding the service's manifest.
            mdir = os.path.join(out, "manifests")
            ns = next(n for n in sorted(os.listdir(mdir))
                      if os.path.isfile(os.path.join(mdir, n, svc + ".yaml")))
            with open(os.path.join(mdir, ns, svc + ".yaml")) as f:
                gen_objs = docs(f.read())
            try:
                helm_objs = rendered_objects(chart, {}, svc, ns)
                problems.extend(compare(helm_objs, gen_objs))
                for o in helm_objs:
                    kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
                bad, n = invariants(helm_objs)
                broken.extend(f"{svc}: {b}" for b in bad)
                unpinned += n
            except helm.HelmError as e:
                problems.append(f"render: {e}")
            overlays = sorted(f[len("values-"):-len(".yaml")] for f in os.listdir(chart_dir)
                              if f.startswith("values-") and f.endswith(".yaml"))
            env_root = os.path.join(out, "environments")
            rendered_envs = sorted(os.listdir(env_root)) if os.path.isdir(env_root) else []
            if overlays != rendered_envs:
                problems.append(f"overlays {overlays} != environments {rendered_envs}")
            for env in overlays:
                with open(os.path.join(chart_dir, f"values-{env}.yaml")) as f:
                    overlay = yaml.safe_load(f) or {}
                report = helm.lint(chart_dir, overlay, strict=True)
                for m in report.get("messages", []):
                    if m["severity"] >= 2:
                        problems.append(f"lint {env}: {m['path']}: {m['error']}")
                problems.extend(f"lint {env}: {e}" for e in report.get("errors", []))
                manifest = os.path.join(env_root, env, "manifests", ns, svc + ".yaml")
                if not os.path.isfile(manifest):
                    problems.append(f"{env}: no {manifest}")
                    continue
                with open(manifest) as f:
                    env_objs = docs(f.read())
                try:
                    helm_objs = rendered_objects(chart, overlay, svc, ns)
                    problems.extend(f"{env}: {p}" for p in compare(helm_objs, env_objs))
                    bad, _ = invariants(helm_objs)
                    broken.extend(f"{svc} ({env}): {b}" for b in bad)
                    env_renders += 1
                except helm.HelmError as e:
                    problems.append(f"render {env}: {e}")
            status = "ok" if not problems else "FAIL"
            print(f"{status} {out}/charts/{svc}")
            for p in problems[:40]:
                print("   ", p)
            failures += bool(problems)
    print(json.dumps({"charts": charts, "failures": failures, "kinds": kinds,
                      "invariants": broken, "unpinned_images": unpinned,
                      "environment_renders": env_renders}, sort_keys=True))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
