use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::secrets::{self, Entropy, Kind};

/// Literal env values that look like keys or tokens.
pub static RULE: Rule = Rule {
    id: "env-high-entropy",
    severity: Severity::Warning,
    scope: Scope::Catalog,
    summary: "literal env value looks like a key or token",
    what: "A literal `env` value holds an AWS access key id (`AKIA...`, \
`ASIA...`), a PEM private key, a JSON Web Token, or a run of at least `min_length` \
(20) key characters (letters, digits, `+`, `/`, `=`, `_`, `-`) whose Shannon \
entropy is at least `min_entropy` (4.0) bits per character, the mark of \
random data such as API keys, tokens and passwords. The value is cut into \
runs at every other character (spaces, `.`, `:`, `@`, `?`, `&`, ...), so \
host names, URLs and JVM options are measured piece by piece, and runs that \
start with `/` (paths) are skipped. Variables whose name already marks a \
secret are left to `secret-env-literal`.",
    why: "Literal env values are stored in Git, in the chart's values.yaml \
and in a ConfigMap that anyone who can read the namespace can read. A key \
committed there has leaked: it stays in the Git history after it is removed \
and must be rotated. A name that does not say `SECRET` or `TOKEN` does not \
make the value less secret.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    env:\n      STRIPE_LIVE: sk_live_51HxQ2eKZvP8mR3tYw9LcN7bD # <-\n",
    fix: "Rotate the key, put the new one in a Kubernetes Secret and reference \
it with `secret_env` (`secret_env: {STRIPE_LIVE: stripe/api-key}`). If the \
value is not secret (a public key, a build id), waive the rule for the \
service with the reason.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    secret_env:\n      STRIPE_LIVE: stripe/api-key\n",
    params: &[("min_length", "20"), ("min_entropy", "4.0")],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let thresholds = Entropy {
        min_length: usize::try_from(cx.param_u64("min_length", 20)).unwrap_or(usize::MAX),
        min_bits: cx
            .param("min_entropy")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(4.0),
    };
    for s in &cx.model.services {
        for (k, v) in &s.env {
            if secrets::secret_name(k) {
                continue;
            }
            let what = match secrets::value_kind(v, thresholds) {
                None | Some(Kind::UrlPassword(_)) => continue,
                Some(Kind::AccessKey) => "an AWS access key id".to_owned(),
                Some(Kind::PrivateKey) => "a PEM private key".to_owned(),
                Some(Kind::Jwt) => "a JSON Web Token".to_owned(),
                Some(Kind::Random(len, e)) => {
                    format!("a {len}-character random-looking string ({e:.1} bits per character)")
                }
            };
            out.push(Hit::at(
                push_pointer(&super::svc_key(&s.name, "env"), k),
                format!(
                    "`{k}` of `{}` holds {what}: it looks like a key or token",
                    s.name
                ),
            ));
        }
    }
}
