use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// A service that runs as another user or group than gen's.
pub static RULE: Rule = Rule {
    id: "security-override",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "pod runs as a user or group set in the catalog",
    what: "The service sets `security.run_as_user` or `security.run_as_group`.",
    why: "gen runs every pod as user and group 10001, which owns nothing in \
the image and no host file. An id chosen to match an image (Grafana's 472, \
say) can collide with another workload's or a host user's id, which then \
shares file access on volumes. The pod stays non-root.",
    example: "version: 1\nproject: mon\nservices:\n  grafana:\n    image: grafana/grafana:11.2.0\n    port: 3000\n    security: {run_as_user: 472} # <-\n",
    fix: "Build the image so that it runs as any non-root user, or waive the \
rule naming the image's requirement.",
    passing: "version: 1\nproject: mon\nservices:\n  grafana:\n    image: grafana/grafana:11.2.0\n    port: 3000\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let sec = &s.container.security;
        for (key, id) in [
            ("run_as_user", sec.run_as_user),
            ("run_as_group", sec.run_as_group),
        ] {
            if id != crate::model::container::RUN_AS_ID {
                out.push(Hit::at(
                    push_pointer(&super::svc_key(&s.name, "security"), key),
                    format!("`{}` runs with {key} {id} instead of gen's", s.name),
                ));
            }
        }
    }
}
