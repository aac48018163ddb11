use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// URLs with a password in literal env values.
pub static RULE: Rule = Rule {
    id: "env-url-credentials",
    severity: Severity::Error,
    scope: Scope::Catalog,
    summary: "literal env value holds a URL with a password",
    what: "A literal `env` value contains a URL whose authority carries a user \
and a password (`scheme://user:password@host`), for example \
`postgres://app:pw@db:5432/app` or `jdbc:mysql://app:pw@db/app`, whatever \
the variable's name. A password that is only a placeholder the application \
expands itself (`${DB_PASSWORD}`, `$(DB_PASSWORD)`, `$DB_PASSWORD`) does not \
count.",
    why: "Literal env values are stored in Git, in the chart's values.yaml and \
in a ConfigMap that anyone who can read the namespace can read. A connection \
URL looks like configuration, so it is copied into logs, error messages and \
tickets, and the password goes with it.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    env:\n      DATABASE_URL: postgres://app:hunter2@db:5432/app # <-\n",
    fix: "Rotate the password and take it out of the URL: keep the URL \
without credentials in `env` and read the password from a Secret with \
`secret_env` (`secret_env: {DB_PASSWORD: db/password}`), or keep the whole \
URL in a Secret (`secret_env: {DATABASE_URL: db/url}`).",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    env:\n      DATABASE_URL: postgres://db:5432/app\n      DB_USER: app\n    secret_env:\n      DB_PASSWORD: db/password\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        for (k, v) in &s.env {
            let urls = crate::secrets::credential_urls(v);
            if urls.is_empty() {
                continue;
            }
            out.push(Hit::at(
                push_pointer(&super::svc_key(&s.name, "env"), k),
                format!(
                    "`{k}` of `{}` holds a password in a literal URL (`{}`)",
                    s.name,
                    urls.join("`, `")
                ),
            ));
        }
    }
}
