use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The agent pool should never shrink below two machines.
pub static RULE: Rule = Rule {
    id: "asg-min-low",
    severity: Severity::Warning,
    scope: Scope::Network,
    summary: "the agent auto scaling group may shrink below two machines",
    what: "`cluster.aws.autoscaling.min` is below 2.",
    why: "The auto scaling group may scale in to `min` machines. With one \
agent left, every service's replicas share one machine: replicas and \
PodDisruptionBudgets no longer protect against anything, and replacing or \
draining that machine is an outage. With `min: 0` the services may have no \
worker at all.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    autoscaling:\n      min: 1 # <-\n      max: 4\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Set `autoscaling.min` to 2 or more (and `cluster.k3s.agents`, the \
desired size, within `min`..`max`).",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    autoscaling:\n      min: 2\n      max: 4\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(s) = cx.model.aws.as_ref().and_then(|a| a.autoscaling.as_ref()) else {
        return;
    };
    if s.min >= 2 {
        return;
    }
    let msg = if s.min == 0 {
        "`autoscaling.min` is 0: the agent pool may scale in to no machine at all".to_owned()
    } else {
        format!(
            "`autoscaling.min` is {}: the agent pool may shrink to one machine",
            s.min
        )
    };
    out.push(Hit::at("/cluster/aws/autoscaling/min", msg));
}
