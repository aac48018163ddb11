use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::addons::MetricsServer;
use crate::model::Scaling;

/// An HPA reads CPU and memory from metrics-server, which K3s bundles and
/// gen installs on EKS.
pub static RULE: Rule = Rule {
    id: "hpa-without-metrics-server",
    severity: Severity::Warning,
    scope: Scope::Cluster,
    summary: "HPA on a cluster that may have no metrics-server",
    what: "A service has an `hpa`, the cluster is neither K3s nor EKS (no \
`cluster.k3s`, no `cluster.eks`), and `addons.metrics_server` is not set. \
K3s bundles metrics-server; on EKS gen installs it (in `eks/`) whenever a \
service has an `hpa`, unless `addons.metrics_server: {provided: true}` says \
the cluster runs one already.",
    why: "A HorizontalPodAutoscaler on CPU or memory reads the pods' usage \
from the resource metrics API, which metrics-server serves. K3s bundles one; \
a managed cluster such as EKS does not, unless it was installed. Without it \
the HPA reports `<unknown>` targets and never scales: the service stays at \
its minimum under any load.",
    example: "version: 1\nproject: shop\ngitops:\n  argocd: {repo_url: 'https://git.example/deploy.git', charts_path: out/charts}\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    hpa: {min: 2, max: 6, cpu: 70} # <-\n",
    fix: "Add `addons: {metrics_server: {}}` so gen installs the pinned \
metrics-server chart (an Argo CD Application), or `addons: {metrics_server: \
{provided: true}}` when the cluster already runs one (an EKS add-on, say).",
    passing: "version: 1\nproject: shop\ngitops:\n  argocd: {repo_url: 'https://git.example/deploy.git', charts_path: out/charts}\naddons:\n  metrics_server: {}\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    hpa: {min: 2, max: 6, cpu: 70}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    if cx.model.k3s.is_some()
        || cx.model.eks.is_some()
        || cx.model.addons.metrics_server != MetricsServer::Unsaid
    {
        return;
    }
    for s in &cx.model.services {
        if let Scaling::Auto { .. } = s.scaling {
            out.push(Hit::at(
                super::svc_key(&s.name, "hpa"),
                format!(
                    "`{}` autoscales, but nothing says the cluster runs metrics-server: without it the HPA never scales",
                    s.name
                ),
            ));
        }
    }
}
