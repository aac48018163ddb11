use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The targeted Kubernetes version is out of upstream support.
pub static RULE: Rule = Rule {
    id: "kubernetes-eol",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "targeted Kubernetes version is out of upstream support",
    what: "The targeted Kubernetes version (`kubernetes`, else the minor \
version of `cluster.k3s.version`, else `cluster.eks.version`) is older than \
`min_supported` (default `\"1.31\"`; write it quoted in the policy). The \
finding is on `kubernetes`, or on `cluster.k3s.version` or \
`cluster.eks.version` when the version comes from there. On EKS, \
`eks-version-support` also reports a version past Amazon's end of standard \
support.",
    why: "The Kubernetes project supports the three most recent minor \
versions, about 14 months each. An older version gets no security fixes, \
not even for known CVEs in the API server or the kubelet, and K3s, \
cloud providers and Helm charts drop it soon after. The later the upgrade, \
the more minor versions it has to cross, one at a time.",
    example: "version: 1\nproject: shop\nkubernetes: \"1.30\" # <-\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    fix: "Plan the upgrade of the cluster, one minor version at a time, to a \
supported release (K3s: `cluster.k3s.version`, e.g. `v1.33.5+k3s1`; EKS: \
`cluster.eks.version`, e.g. `\"1.35\"`), and set `kubernetes` to match (or \
leave it out). Raise `min_supported` in `gen-policy.yaml` as \
upstream releases move on.",
    passing: "version: 1\nproject: shop\nkubernetes: \"1.33\"\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    params: &[("min_supported", "\"1.31\"")],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    // A YAML number such as 1.30 arrives as 1.3: read numbers with two
    // decimals.
    let param = match cx.param("min_supported") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => n.as_f64().map(|f| format!("{f:.2}")),
        _ => None,
    };
    let (min_text, min) = match param
        .as_deref()
        .and_then(|p| super::api_unavailable::minor(p).map(|m| (p.to_owned(), m)))
    {
        Some(x) => x,
        None => ("1.31".to_owned(), 31),
    };
    let Some(have) = super::api_unavailable::minor(&cx.model.kubernetes) else {
        return;
    };
    if have >= min {
        return;
    }
    let (at, from) = super::api_unavailable::version_source(cx);
    out.push(Hit::at(
        at,
        format!(
            "Kubernetes {}{from} is older than {min_text}, the oldest minor version still supported upstream (`min_supported`)",
            cx.model.kubernetes
        ),
    ));
}
