use crate::catalog::types::Concurrency;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Overlapping runs of one batch job rarely do what was meant.
pub static RULE: Rule = Rule {
    id: "cronjob-concurrent-runs",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "scheduled service lets its runs overlap (`concurrency: allow`)",
    what: "A service's `schedule` sets `concurrency: allow`: a run starts \
on time even while the previous one still runs.",
    why: "A run that takes longer than the interval (a slow database, a \
bigger batch) then overlaps the next, and the next: two copies of a job \
that writes (a report, a cleanup, a billing run) process the same rows \
twice or fight over locks, and the pile-up grows with each interval.",
    example: "version: 1\nproject: shop\nservices:\n  billing:\n    image: ghcr.io/shop/billing:1.0.0\n    schedule: {cron: \"*/5 * * * *\", concurrency: allow, deadline: 240, starting_deadline: 60} # <-\n",
    fix: "Keep the default `concurrency: forbid` (skip a run while one \
runs) or `replace` (stop the old run); use `allow` only for a job that is \
safe to run twice at once, with a waiver that says so.",
    passing: "version: 1\nproject: shop\nservices:\n  billing:\n    image: ghcr.io/shop/billing:1.0.0\n    schedule: {cron: \"*/5 * * * *\", deadline: 240, starting_deadline: 60}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        if s.schedule.as_ref().map(|x| x.concurrency) != Some(Concurrency::Allow) {
            continue;
        }
        let at = crate::catalog::push_pointer(&super::svc_key(&s.name, "schedule"), "concurrency");
        out.push(
            Hit::at(
                at,
                format!(
                    "`{}` lets a run start while the previous one still runs",
                    s.name
                ),
            )
            .of(&s.name),
        );
    }
}
