use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The targeted Kubernetes version does not serve the APIs of gen's objects.
pub static RULE: Rule = Rule {
    id: "api-unavailable",
    severity: Severity::Error,
    scope: Scope::Workloads,
    summary: "targeted Kubernetes version does not serve the APIs gen emits",
    what: "The targeted Kubernetes version (`kubernetes`, else the minor \
version of `cluster.k3s.version`, else `cluster.eks.version`) is older than an API version gen's objects \
use for this catalog: `autoscaling/v2` HorizontalPodAutoscalers (a service \
with `hpa`) need 1.23, `policy/v1` PodDisruptionBudgets (a service with 2 or \
more guaranteed replicas) need 1.21, and `networking.k8s.io/v1` Ingresses (a \
service with `routes`) need 1.19. The finding is on `kubernetes`, or on \
`cluster.k3s.version` or `cluster.eks.version` when the version comes from \
there.",
    why: "The API server refuses an object whose API version it does not \
serve (`no matches for kind \"HorizontalPodAutoscaler\" in version \
\"autoscaling/v2\"`): `kubectl apply` and `helm install` fail, and the \
service is deployed without its autoscaler, disruption budget or routes, or \
not at all. gen emits only these API versions; it has no fallback to the \
older beta APIs.",
    example: "version: 1\nproject: shop\nkubernetes: \"1.22\" # <-\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    hpa: {min: 2, max: 4, cpu: 70}\n",
    fix: "Upgrade the cluster to a supported Kubernetes version and set \
`kubernetes` (or `cluster.k3s.version`, `cluster.eks.version`) to it. Until then, a service can do \
without the object: drop `hpa` for a fixed `replicas`, or keep fewer than 2 \
replicas.",
    passing: "version: 1\nproject: shop\nkubernetes: \"1.33\"\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    hpa: {min: 2, max: 4, cpu: 70}\n",
    params: &[],
    check,
};

/// The minor version of `1.NN`.
pub(super) fn minor(version: &str) -> Option<u32> {
    let (major, minor) = version.split_once('.')?;
    if major != "1" {
        return None;
    }
    minor.split('.').next()?.parse().ok()
}

/// Where the targeted version is written, and a note on where it comes
/// from.
pub(super) fn version_source(cx: &Ctx) -> (&'static str, &'static str) {
    let c = &cx.parsed.catalog;
    if c.kubernetes.is_some() {
        ("/kubernetes", "")
    } else if c.cluster.as_ref().is_some_and(|cl| cl.k3s.is_some()) {
        ("/cluster/k3s/version", " (from `cluster.k3s.version`)")
    } else if c.cluster.as_ref().is_some_and(|cl| cl.eks.is_some()) {
        ("/cluster/eks/version", " (from `cluster.eks.version`)")
    } else {
        ("/kubernetes", " (gen's default)")
    }
}

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(have) = minor(&cx.model.kubernetes) else {
        return;
    };
    let needs: [(&str, &str, u32, Vec<&str>); 3] = [
        (
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            23,
            users(cx, |v| v.autoscaling.enabled),
        ),
        (
            "policy/v1",
            "PodDisruptionBudget",
            21,
            users(cx, |v| v.pod_disruption_budget.enabled),
        ),
        (
            "networking.k8s.io/v1",
            "Ingress",
            19,
            users(cx, |v| v.ingress.enabled && !v.ingress.paths.is_empty()),
        ),
    ];
    let missing: Vec<String> = needs
        .iter()
        .filter(|(_, _, since, who)| have < *since && !who.is_empty())
        .map(|(api, kind, since, who)| {
            format!(
                "{api} {kind} (from 1.{since}; used by {})",
                who.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let (at, from) = version_source(cx);
    out.push(Hit::at(
        at,
        format!(
            "Kubernetes {}{from} does not serve {}",
            cx.model.kubernetes,
            missing.join(", nor ")
        ),
    ));
}

/// Names of the services whose chart values satisfy `f`.
fn users<'a>(cx: &Ctx<'a>, f: fn(&crate::emit::helm::Values) -> bool) -> Vec<&'a str> {
    cx.model
        .services
        .iter()
        .zip(cx.values)
        .filter(|(_, v)| f(v))
        .map(|(s, _)| s.name.as_str())
        .collect()
}
