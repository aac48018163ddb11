//! docs/catalog.md cannot drift from the catalog schema: each key table of
//! the reference lists exactly the keys the schema has at that place (none
//! missing, none that does not exist).

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

/// The reference's key tables: the heading above the table, the schema
/// place it documents (dotted; `<name>` a map's values, `[]` a list's items)
/// and the prefix its keys are written with.
const TABLES: [(&str, &str, &str); 22] = [
    ("## Top level", "", ""),
    ("## `services.<name>`", "services.<name>", ""),
    ("### `replicas` and `hpa`", "services.<name>.hpa", "hpa."),
    ("### `egress`", "services.<name>.egress.[]", ""),
    ("### `resources`", "services.<name>.resources", ""),
    ("### `probes`", "services.<name>.probes", ""),
    ("### `strategy`", "services.<name>.strategy", ""),
    ("### `waivers`", "services.<name>.waivers.[]", ""),
    (
        "### `volumes` and `writable`",
        "services.<name>.volumes.[]",
        "",
    ),
    ("## `alerts` and `alerting`", "services.<name>.alerts", ""),
    ("## `addons`", "addons", ""),
    ("### `addons.monitoring`", "addons.monitoring", ""),
    ("## `defaults`", "defaults", ""),
    ("## `namespaces`", "namespaces", ""),
    ("## `ingress`", "ingress", ""),
    ("## `environments`", "environments.<name>", ""),
    ("## `cluster.k3s`", "cluster.k3s", ""),
    ("## `cluster.eks`", "cluster.eks", ""),
    (
        "### `cluster.eks.node_groups.<name>`",
        "cluster.eks.node_groups.<name>",
        "",
    ),
    ("## `cluster.aws`", "cluster.aws", ""),
    ("### `cluster.aws.database`", "cluster.aws.database", ""),
    (
        "### `cluster.aws.autoscaling`",
        "cluster.aws.autoscaling",
        "",
    ),
];

/// The first-column keys of the first `| Key |` table under `heading`.
fn table_keys(doc: &str, heading: &str) -> Vec<String> {
    let start = doc
        .lines()
        .position(|l| l == heading)
        .unwrap_or_else(|| panic!("docs/catalog.md has no heading `{heading}`"));
    let mut keys = Vec::new();
    let mut inside = false;
    for line in doc.lines().skip(start + 1) {
        if line.starts_with('#') {
            break;
        }
        if line.starts_with("| Key |") {
            inside = true;
            continue;
        }
        if inside {
            let Some(row) = line.strip_prefix('|') else {
                break;
            };
            let cell = row.split('|').next().unwrap_or("").trim();
            if cell.starts_with("---") {
                continue;
            }
            let key = cell.trim_matches('`');
            assert!(
                cell.starts_with('`') && cell.ends_with('`'),
                "{heading}: the key cell {cell:?} is not code"
            );
            keys.push(key.to_owned());
        }
    }
    assert!(!keys.is_empty(), "no `| Key |` table under `{heading}`");
    keys
}

/// The schema node itself: references followed, and the value branch of a
/// nullable override (`if null ... else`).
fn resolve<'a>(schema: &'a Value, mut v: &'a Value) -> &'a Value {
    loop {
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/$defs/").expect("a local reference");
            v = &schema["$defs"][name];
        } else if let (Some(e), None) = (v.get("else"), v.get("properties")) {
            v = e;
        } else {
            return v;
        }
    }
}

/// The node at a dotted place, or None where the schema has no such key.
fn at<'a>(schema: &'a Value, place: &str) -> Option<&'a Value> {
    let mut v = resolve(schema, schema);
    for seg in place.split('.').filter(|s| !s.is_empty()) {
        let next = match seg {
            "<name>" => v.get("additionalProperties"),
            "[]" => v.get("items"),
            key => v.get("properties").and_then(|p| p.get(key)),
        }?;
        v = resolve(schema, next);
    }
    Some(v)
}

fn properties(v: &Value) -> Vec<String> {
    v.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// What is wrong with one table: keys the schema lacks, and keys of the
/// schema the table leaves out (at its root, and under every key whose
/// own keys it lists).
fn drift(schema: &Value, root: &str, documented: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_owned()
        } else {
            format!("{a}.{b}")
        }
    };
    let mut parents = BTreeSet::from([String::new()]);
    for key in documented {
        if key.starts_with("x-") {
            continue; // extension keys: no schema property
        }
        if at(schema, &join(root, key)).is_none() {
            out.push(format!("`{key}` is documented but not in the schema"));
        }
        let mut prefix = String::new();
        for seg in key.split('.') {
            parents.insert(prefix.clone());
            prefix = join(&prefix, seg);
        }
    }
    for parent in parents {
        let Some(node) = at(schema, &join(root, &parent)) else {
            continue;
        };
        for p in properties(node) {
            let full = join(&parent, &p);
            let listed = documented
                .iter()
                .any(|k| *k == full || k.starts_with(&format!("{full}.")));
            if !listed {
                out.push(format!("`{full}` is in the schema but not in the table"));
            }
        }
    }
    out
}

#[test]
fn every_key_table_lists_exactly_the_schema_keys() {
    let doc = std::fs::read_to_string(common::root().join("docs/catalog.md")).unwrap();
    let schema = gen::catalog::schema::schema();
    let mut failures = Vec::new();
    for (heading, root, prefix) in TABLES {
        let documented: Vec<String> = table_keys(&doc, heading)
            .into_iter()
            .map(|k| {
                k.strip_prefix(prefix)
                    .unwrap_or_else(|| panic!("{heading}: `{k}` lacks the prefix `{prefix}`"))
                    .to_owned()
            })
            .collect();
        assert!(
            at(schema, root).is_some(),
            "{heading}: no `{root}` in the schema"
        );
        for d in drift(schema, root, &documented) {
            failures.push(format!("{heading}: {d}"));
        }
    }
    assert!(
        failures.is_empty(),
        "docs/catalog.md:\n{}",
        failures.join("\n")
    );
}

/// The check can fail both ways: a key left out of a table, and a key the
/// schema does not have.
#[test]
fn the_drift_check_sees_a_missing_and_an_unknown_key() {
    let schema = gen::catalog::schema::schema();
    let keys = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        drift(schema, "cluster.aws.autoscaling", &keys(&["min", "max"])),
        Vec::<String>::new()
    );
    assert_eq!(
        drift(schema, "cluster.aws.autoscaling", &keys(&["min"])),
        ["`max` is in the schema but not in the table"]
    );
    assert_eq!(
        drift(
            schema,
            "cluster.aws.autoscaling",
            &keys(&["min", "max", "mid"])
        ),
        ["`mid` is documented but not in the schema"]
    );
    // A nested table: every key under a listed parent counts.
    assert_eq!(
        drift(
            schema,
            "environments.<name>",
            &keys(&[
                "context",
                "protected",
                "ingress.host",
                "defaults",
                "services.<name>.image"
            ])
        )
        .len(),
        7,
        "ingress.tls_secret and six service override keys are missing"
    );
}
