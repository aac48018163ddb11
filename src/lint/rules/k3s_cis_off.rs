use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The kubelet should protect the kernel defaults.
pub static RULE: Rule = Rule {
    id: "k3s-cis-off",
    severity: Severity::Info,
    scope: Scope::Cluster,
    summary: "K3s CIS profile off: kernel defaults are not protected",
    what: "`cluster.k3s.cis_profile` is `false` (the default).",
    why: "Without it the kubelet runs without `protect-kernel-defaults`, so \
it starts whatever the kernel settings are and the nodes keep the \
distribution's values for `vm.overcommit_memory`, `vm.panic_on_oom` and \
`kernel.panic*`, which the CIS Kubernetes Benchmark asks to pin (CIS 4.2.6). \
A node that drifted from the expected settings is not noticed.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 2\n    cis_profile: false # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Set `cis_profile: true`: gen then writes `sysctl-cis.conf`, the \
scripts apply it before K3s starts, and every node gets \
`protect-kernel-defaults: true`.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 2\n    cis_profile: true\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(k) = &cx.model.k3s else { return };
    if k.cis_profile {
        return;
    }
    let msg = "the CIS profile is off: the kubelet does not protect the kernel defaults";
    let at = "/cluster/k3s/cis_profile";
    if cx.parsed.spans.get(at).is_some() {
        out.push(Hit::at(at, msg));
    } else {
        out.push(Hit::at_key("/cluster/k3s", msg));
    }
}
