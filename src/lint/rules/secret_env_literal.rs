use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Secret-looking names in literal `env`.
pub static RULE: Rule = Rule {
    id: "secret-env-literal",
    severity: Severity::Error,
    scope: Scope::Catalog,
    summary: "secret-looking variable given as a literal env value",
    what: "A literal `env` variable whose name says it holds a secret has a \
non-empty value. A name says so when one of its words (split at `_`, `-`, \
`.` and camelCase) is `PASSWORD`, `PASS`, `PASSWD`, `PWD`, `PASSPHRASE`, \
`SECRET`, `TOKEN`, `KEY`, `APIKEY`, `CREDENTIAL(S)`, `CREDS`, `PRIVATE` or \
`AUTH`, or ends in `PASSWORD`, `PASS`, `SECRET`, `TOKEN` or `KEY` \
(`DBPASS`), unless its last word says the value is only about the secret \
(`_FILE`, `_PATH`, `_DIR`, `_URL`, `_URI`, `_ENDPOINT`, `_HOST`, `_PORT`, \
`_NAME`, `_ENABLED`, `_DISABLED`, `_MODE`, `_TYPE`, `_TTL`, `_TIMEOUT`, \
`_LENGTH`, `_PREFIX`, `_HEADER`). gen masks these values in every \
diagnostic, diff and chart README it prints.",
    why: "Literal env values are stored in Git, in the chart's values.yaml and \
in a ConfigMap that anyone who can read the namespace can read. Secrets \
belong in a Kubernetes Secret, referenced with `secret_env`.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    env:\n      DB_PASSWORD: hunter2 # <-\n",
    fix: "Create a Secret (for example `kubectl create secret generic db \
--from-literal=password=...`) and reference it: `secret_env: {DB_PASSWORD: \
db/password}`.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    secret_env:\n      DB_PASSWORD: db/password\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        for (k, v) in &s.env {
            if crate::secrets::secret_name(k) && !v.is_empty() {
                out.push(Hit::at(
                    crate::catalog::push_pointer(&super::svc_key(&s.name, "env"), k),
                    format!(
                        "`{k}` of `{}` looks like a secret but is a literal value",
                        s.name
                    ),
                ));
            }
        }
    }
}
