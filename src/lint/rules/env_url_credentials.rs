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

/// Whether a password is a placeholder expanded elsewhere.
fn placeholder(pw: &str) -> bool {
    let name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    pw.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .map(|r| r.split(':').next().unwrap_or(""))
        .or_else(|| pw.strip_prefix("$(").and_then(|r| r.strip_suffix(')')))
        .or_else(|| pw.strip_prefix('$'))
        .is_some_and(name)
}

/// The URLs in `value` that carry a password, with the password masked.
pub(super) fn credential_urls(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = value[from..].find("://") {
        let sep = from + i;
        from = sep + 3;
        let scheme_start = value[..sep]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-' | ':')))
            .map_or(0, |j| j + 1);
        let scheme = &value[scheme_start..sep];
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let rest = &value[from..];
        let end = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let (user, host) = (&authority[..at], &authority[at + 1..]);
        let Some((user, pw)) = user.split_once(':') else {
            continue;
        };
        if pw.is_empty() || placeholder(pw) {
            continue;
        }
        found.push(format!("{scheme}://{user}:***@{host}"));
    }
    found
}

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        for (k, v) in &s.env {
            let urls = credential_urls(v);
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

#[cfg(test)]
mod tests {
    use super::credential_urls;

    #[test]
    fn finds_and_masks_passwords() {
        assert_eq!(
            credential_urls("postgres://app:pw@db:5432/x"),
            ["postgres://app:***@db:5432"]
        );
        assert_eq!(
            credential_urls("jdbc:mysql://u:p@h/db?x=1"),
            ["jdbc:mysql://u:***@h"]
        );
        assert_eq!(
            credential_urls("a=redis://:s3cret@cache:6379 b=http://h/"),
            ["redis://:***@cache:6379"]
        );
    }

    #[test]
    fn ignores_users_without_passwords_and_placeholders() {
        assert!(credential_urls("https://git@github.com/x").is_empty());
        assert!(credential_urls("https://example.com/a@b:c").is_empty());
        assert!(credential_urls("postgres://app:${DB_PASSWORD}@db/x").is_empty());
        assert!(credential_urls("postgres://app:$(DB_PASSWORD)@db/x").is_empty());
        assert!(credential_urls("no url: a:b@c").is_empty());
    }
}
