use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Waivers end on their `expires` date.
pub static RULE: Rule = Rule {
    id: "waiver-expired",
    severity: Severity::Error,
    scope: Scope::Catalog,
    summary: "waiver past its expiry date",
    what: "A service waiver has an `expires` date before today (UTC).",
    why: "A waiver is a reasoned, temporary exception. Past its date nobody \
has re-examined the reason, so the exception silently became policy.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 80\n    waivers:\n      - rule: port-privileged\n        reason: legacy image, rebuilt next quarter\n        expires: \"2020-01-31\" # <-\n",
    fix: "Fix what the waiver excused and remove the waiver, or review the \
reason and move `expires` forward.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 80\n    waivers:\n      - rule: port-privileged\n        reason: legacy image, rebuilt next quarter\n        expires: \"2999-01-31\"\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for (name, s) in &cx.parsed.catalog.services {
        for (i, w) in s.waivers.iter().enumerate() {
            let Some(exp) = &w.expires else { continue };
            // ISO dates compare as strings.
            if exp.as_str() < cx.today {
                out.push(Hit::at(
                    format!("{}/{i}/expires", super::svc_key(name, "waivers")),
                    format!("the waiver of `{}` for `{name}` expired on {exp}", w.rule),
                ));
            }
        }
    }
}
