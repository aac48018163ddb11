use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Scaling;

/// An HPA needs headroom to absorb a spike while new pods start.
pub static RULE: Rule = Rule {
    id: "hpa-cpu-target-high",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "HPA CPU target leaves no headroom",
    what: "`hpa.cpu`, the target average CPU utilisation, is above the policy \
maximum (default 90 percent of the CPU request).",
    why: "The autoscaler only adds pods after the average has crossed the \
target, and new pods take time to be scheduled, pull their image, start and \
pass readiness. A target near 100% leaves no spare capacity for that time: a \
spike saturates the running pods, latency climbs and requests fail before \
help arrives.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 500m, memory: 256Mi}\n    hpa:\n      min: 2\n      max: 6\n      cpu: 95 # <-\n",
    fix: "Lower `hpa.cpu` to 60-80 so the running pods can absorb a spike \
while the autoscaler adds more.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 500m, memory: 256Mi}\n    hpa:\n      min: 2\n      max: 6\n      cpu: 70\n",
    params: &[("max", "90 (percent)")],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let max = cx.param_u64("max", 90);
    for s in &cx.model.services {
        let Scaling::Auto { cpu, .. } = s.scaling else {
            continue;
        };
        if u64::from(cpu) <= max {
            continue;
        }
        out.push(Hit::at(
            super::svc_key(&s.name, "hpa") + "/cpu",
            format!(
                "`{}` scales out only above {cpu}% CPU; the maximum is {max}%",
                s.name
            ),
        ));
    }
}
