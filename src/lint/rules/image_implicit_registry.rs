use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Image;

/// Images that name no registry (Docker Hub implied).
pub static RULE: Rule = Rule {
    id: "image-implicit-registry",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "image names no registry, so Docker Hub is implied",
    what: "A service's `image`, or a `strategy.blue_image`, `green_image` or \
`canary_image`, has no registry host: its first path part has no `.` or `:` \
and is not `localhost` (`redis:7.4.2`, `bitnami/redis:7.4.2`). The container \
runtime then pulls it from Docker Hub (`docker.io`, with `library/` added to \
one-part names).",
    why: "Docker Hub limits anonymous pulls per source IP address, and every \
node behind one NAT gateway shares the limit: a scale-out, a node \
replacement or a rollout can hit it and leave pods in `ImagePullBackOff`. \
The implied registry also hides that the service depends on Docker Hub's \
availability and on who controls that repository name there.",
    example: "version: 1\nproject: shop\nservices:\n  cache:\n    image: redis:7.4.2-alpine # <-\n    port: 6379\n    probes: {type: tcp}\n",
    fix: "Name the registry. Best, pull through a registry you control (an \
ECR pull-through cache, a Harbor or Artifactory proxy, or K3s's \
`embedded_registry` mirror) and write its host: \
`111122223333.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/redis:7.4.2-alpine`. \
At least write `docker.io/library/redis:7.4.2-alpine` and give the pods \
Docker Hub credentials with the chart value `imagePullSecrets`.",
    passing: "version: 1\nproject: shop\nservices:\n  cache:\n    image: 111122223333.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/redis:7.4.2-alpine\n    port: 6379\n    probes: {type: tcp}\n",
    params: &[],
    check,
};

/// The registry host of a repository, if it names one.
fn registry(repository: &str) -> Option<&str> {
    let (first, _) = repository.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        for (at, raw) in super::image_digest_preferred::images(cx, &s.name) {
            let Ok(img) = Image::parse_syntax(raw) else {
                continue;
            };
            if registry(&img.repository).is_some() {
                continue;
            }
            let full = if img.repository.contains('/') {
                format!("docker.io/{}", img.repository)
            } else {
                format!("docker.io/library/{}", img.repository)
            };
            out.push(Hit::at(
                at,
                format!(
                    "`{raw}` of `{}` names no registry, so it is pulled from Docker Hub as `{full}`",
                    s.name
                ),
            ));
        }
    }
}
