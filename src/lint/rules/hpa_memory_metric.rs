use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Scaling;

/// Memory-based autoscaling rarely scales back in.
pub static RULE: Rule = Rule {
    id: "hpa-memory-metric",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "HPA also scales on memory utilisation",
    what: "A service's `hpa` sets `memory`, a target average memory \
utilisation.",
    why: "Most runtimes keep the memory they once used: the JVM and Go grow \
their heaps under load and rarely hand memory back, and caches fill up and \
stay full. The average memory use then stays above the target after the load \
is gone, so the autoscaler scales out but hardly ever scales back in, and the \
service sits at a high replica count.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 500m, memory: 512Mi}\n    hpa:\n      min: 2\n      max: 6\n      cpu: 70\n      memory: 80 # <-\n",
    fix: "Remove `hpa.memory` and scale on CPU, unless the service's memory \
use really follows its load (and falls when the load falls).",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 500m, memory: 512Mi}\n    hpa:\n      min: 2\n      max: 6\n      cpu: 70\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let Scaling::Auto {
            memory: Some(memory),
            ..
        } = s.scaling
        else {
            continue;
        };
        out.push(Hit::at(
            super::svc_key(&s.name, "hpa") + "/memory",
            format!(
                "`{}` also scales at {memory}% memory, which rarely drops after load, so it seldom scales in",
                s.name
            ),
        ));
    }
}
