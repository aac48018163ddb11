use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// A container whose root filesystem is writable.
pub static RULE: Rule = Rule {
    id: "writable-root",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "container root filesystem writable",
    what: "The service sets `security.read_only_root_filesystem: false`.",
    why: "With a writable root an intruder can change the container's binaries \
and configuration, and whatever the process writes there is lost at the next \
restart anyway. Most images that seem to need it only write to a few \
directories.",
    example: "version: 1\nproject: mon\nservices:\n  grafana:\n    image: grafana/grafana:11.2.0\n    port: 3000\n    security: {read_only_root_filesystem: false} # <-\n",
    fix: "Keep the root read-only and give the process writable directories \
(`/tmp` is always writable), or waive the rule saying which paths the image \
writes and why.",
    passing: "version: 1\nproject: mon\nservices:\n  grafana:\n    image: grafana/grafana:11.2.0\n    port: 3000\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        if !s.container.security.read_only_root_filesystem {
            out.push(Hit::at(
                push_pointer(
                    &super::svc_key(&s.name, "security"),
                    "read_only_root_filesystem",
                ),
                format!("`{}` can write its container's root filesystem", s.name),
            ));
        }
    }
}
