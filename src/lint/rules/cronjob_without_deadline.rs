use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// A scheduled run without deadlines can hang or pile up unnoticed.
pub static RULE: Rule = Rule {
    id: "cronjob-without-deadline",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "scheduled service without a run deadline or a starting deadline",
    what: "A service with a `schedule` sets no `schedule.deadline` (the \
run's activeDeadlineSeconds) or no `schedule.starting_deadline` (the \
CronJob's startingDeadlineSeconds).",
    why: "Without `deadline`, a run that hangs (a lock, a network call \
without a timeout) runs forever; under the default `concurrency: forbid` it \
also stops every later run, silently. Without `starting_deadline`, a \
CronJob that missed more than 100 start times (its controller was down, or \
the cluster was) stops scheduling altogether until someone looks.",
    example: "version: 1\nproject: shop\nservices:\n  report:\n    image: ghcr.io/shop/report:1.0.0\n    schedule: {cron: \"0 3 * * *\"} # <-\n",
    fix: "Set `deadline` to a bound the run never needs to exceed, and \
`starting_deadline` to how late a run may still start (e.g. 300 seconds).",
    passing: "version: 1\nproject: shop\nservices:\n  report:\n    image: ghcr.io/shop/report:1.0.0\n    schedule: {cron: \"0 3 * * *\", deadline: 3600, starting_deadline: 300}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let Some(sc) = &s.schedule else {
            continue;
        };
        let missing: Vec<&str> = [
            ("`deadline`", sc.deadline.is_none()),
            ("`starting_deadline`", sc.starting_deadline.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(
            Hit::at(
                super::svc_key(&s.name, "schedule"),
                format!(
                    "`{}` runs on a schedule without {}",
                    s.name,
                    missing.join(" or ")
                ),
            )
            .of(&s.name),
        );
    }
}
