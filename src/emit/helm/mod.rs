//! Helm charts: one per service at `charts/<service>/`.
//!
//! A chart is the static templates of `blueprints/chart/` (embedded with
//! `include_str!`, identical in every chart) plus the per-service files gen
//! builds as data: `Chart.yaml`, `values.yaml`, `values.schema.json` and a
//! README (rendered with minijinja using `(= =)` / `[% %]` delimiters, which
//! clash with neither Go templates nor YAML).
//!
//! Architecture invariant: no catalog string ever becomes Go template source.
//! Catalog facts reach the templates only as values, which Helm prints
//! literally (through `quote` and `toYaml`).

pub mod values;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{EmitError, Tree, HEADER};
use crate::model::{Environment, Model, ServiceModel};
pub use values::Values;

/// Version of a generated chart whose catalog sets no `chart_version`
/// (`Model::chart_version` holds the one in force).
pub use crate::model::DEFAULT_CHART_VERSION as CHART_VERSION;

/// The static chart files: path inside the chart -> contents.
pub const BLUEPRINTS: &[(&str, &str)] = &[
    (
        ".helmignore",
        include_str!("../../../blueprints/chart/.helmignore"),
    ),
    (
        "templates/_helpers.tpl",
        include_str!("../../../blueprints/chart/templates/_helpers.tpl"),
    ),
    (
        "templates/_pod.tpl",
        include_str!("../../../blueprints/chart/templates/_pod.tpl"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("../../../blueprints/chart/templates/NOTES.txt"),
    ),
    (
        "templates/configmap.yaml",
        include_str!("../../../blueprints/chart/templates/configmap.yaml"),
    ),
    (
        "templates/cronjob.yaml",
        include_str!("../../../blueprints/chart/templates/cronjob.yaml"),
    ),
    (
        "templates/deployment.yaml",
        include_str!("../../../blueprints/chart/templates/deployment.yaml"),
    ),
    (
        "templates/hpa.yaml",
        include_str!("../../../blueprints/chart/templates/hpa.yaml"),
    ),
    (
        "templates/ingress.yaml",
        include_str!("../../../blueprints/chart/templates/ingress.yaml"),
    ),
    (
        "templates/job.yaml",
        include_str!("../../../blueprints/chart/templates/job.yaml"),
    ),
    (
        "templates/networkpolicy.yaml",
        include_str!("../../../blueprints/chart/templates/networkpolicy.yaml"),
    ),
    (
        "templates/pdb.yaml",
        include_str!("../../../blueprints/chart/templates/pdb.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("../../../blueprints/chart/templates/service.yaml"),
    ),
    (
        "templates/statefulset.yaml",
        include_str!("../../../blueprints/chart/templates/statefulset.yaml"),
    ),
    (
        "templates/serviceaccount.yaml",
        include_str!("../../../blueprints/chart/templates/serviceaccount.yaml"),
    ),
    (
        "templates/files.yaml",
        include_str!("../../../blueprints/chart/templates/files.yaml"),
    ),
    (
        "templates/rbac.yaml",
        include_str!("../../../blueprints/chart/templates/rbac.yaml"),
    ),
];

const README: &str = include_str!("../../../blueprints/chart/README.md.j2");

/// `Chart.yaml`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChartYaml<'a> {
    api_version: &'a str,
    name: &'a str,
    description: String,
    #[serde(rename = "type")]
    kind: &'a str,
    version: &'a str,
    app_version: String,
    keywords: Vec<&'a str>,
    annotations: BTreeMap<&'a str, String>,
}

fn ser_err(what: &str, e: impl std::fmt::Display) -> EmitError {
    EmitError::Serialize {
        what: what.to_owned(),
        why: e.to_string(),
    }
}

/// Emit every chart of the model into `tree`; `environments` holds the
/// values of each of `model.environments` (same order), which become the
/// charts' `values-<environment>.yaml` overlays.
pub fn emit(
    model: &Model,
    values: &[Values],
    environments: &[(Vec<Values>, Vec<crate::model::flows::Flow>)],
    tree: &mut Tree,
) -> Result<(), EmitError> {
    let env = readme_env()?;
    for (i, (svc, values)) in model.services.iter().zip(values).enumerate() {
        let base = format!("charts/{}", svc.name);
        tree.insert(
            format!("{base}/Chart.yaml"),
            chart_yaml(model, svc, values)?,
        );
        tree.insert(format!("{base}/values.yaml"), values_yaml(values)?);
        tree.insert(
            format!("{base}/values.schema.json"),
            values_schema_text(latest_waived(svc))?,
        );
        for &(path, contents) in BLUEPRINTS {
            tree.insert(format!("{base}/{path}"), contents);
        }
        for (e, (env_values, _)) in model.environments.iter().zip(environments) {
            if let Some(over) = env_values.get(i) {
                tree.insert(
                    format!("{base}/values-{}.yaml", e.name),
                    overlay_yaml(e, svc, values, over)?,
                );
            }
        }
        tree.insert(
            format!("{base}/README.md"),
            readme(&env, model, svc, values, base_schema())?,
        );
    }
    Ok(())
}

/// The Helm command that installs `svc`'s chart in environment `e`.
fn install_command(e: &Environment, svc: &ServiceModel) -> String {
    format!(
        "helm upgrade --install {name} charts/{name} --namespace {ns} -f charts/{name}/values-{env}.yaml --kube-context {ctx}",
        name = svc.name,
        ns = svc.namespace,
        env = e.name,
        ctx = e.context,
    )
}

/// `values-<environment>.yaml`: only what differs from `values.yaml`, as a
/// Helm overlay (maps merge key by key, lists and scalars replace).
fn overlay_yaml(
    e: &Environment,
    svc: &ServiceModel,
    base: &Values,
    over: &Values,
) -> Result<String, EmitError> {
    let what = format!("values-{}.yaml", e.name);
    let a = serde_json::to_value(base).map_err(|err| ser_err(&what, err))?;
    let b = serde_json::to_value(over).map_err(|err| ser_err(&what, err))?;
    let diff = overlay(&a, &b);
    let what_differs = if diff.is_some() {
        "only the values that differ from values.yaml"
    } else {
        "nothing differs from values.yaml"
    };
    let diff = diff.unwrap_or_else(|| Value::Object(Map::new()));
    let text = serde_saphyr::to_string(&diff).map_err(|err| ser_err(&what, err))?;
    let mut out = String::from(HEADER);
    out.push_str(&format!(
        "# Environment `{}`{}: {what_differs};\n# Helm merges this file over them:\n#   {}\n",
        e.name,
        if e.protected { " (protected)" } else { "" },
        install_command(e, svc)
    ));
    out.push_str(&text);
    Ok(out)
}

/// The Helm overlay that turns `base` into `over`: changed and new keys of
/// maps (recursively), `null` for a removed key (Helm deletes it), a whole
/// list or scalar where it differs. `None` when they are equal.
pub fn overlay(base: &Value, over: &Value) -> Option<Value> {
    if base == over {
        return None;
    }
    match (base, over) {
        (Value::Object(a), Value::Object(b)) => {
            let mut m = Map::new();
            for (k, v) in b {
                match a.get(k) {
                    Some(old) => {
                        if let Some(d) = overlay(old, v) {
                            m.insert(k.clone(), d);
                        }
                    }
                    None => {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                m.insert(k.clone(), Value::Null);
            }
            Some(Value::Object(m))
        }
        _ => Some(over.clone()),
    }
}

fn latest_waived(svc: &ServiceModel) -> bool {
    svc.waivers.iter().any(|w| w == "image-latest")
}

fn description(model: &Model, svc: &ServiceModel) -> String {
    format!(
        "The {} service of the {} project, generated by gen",
        svc.name, model.project
    )
}

fn chart_yaml(model: &Model, svc: &ServiceModel, v: &Values) -> Result<String, EmitError> {
    let app_version = if v.image.tag.is_empty() {
        v.image.digest.clone()
    } else {
        v.image.tag.clone()
    };
    let chart = ChartYaml {
        api_version: "v2",
        name: &svc.name,
        description: description(model, svc),
        kind: "application",
        version: &model.chart_version,
        app_version,
        keywords: vec!["gen", "service"],
        annotations: BTreeMap::from([
            ("gen.dev/project", model.project.clone()),
            ("gen.dev/catalog-pointer", svc.pointer.clone()),
        ]),
    };
    let text = serde_saphyr::to_string(&chart).map_err(|e| ser_err("Chart.yaml", e))?;
    Ok(format!("{HEADER}{text}"))
}

/// One-line explanations put above the top-level keys of `values.yaml`.
const VALUE_COMMENTS: &[(&str, &str)] = &[
    ("partOf", "Project this service belongs to (label app.kubernetes.io/part-of)."),
    ("image", "Image of the main track (the stable track of a canary): a new tag rolls out a new version."),
    ("imagePullPolicy", "IfNotPresent suits pinned tags and digests."),
    ("imagePullSecrets", "Registry credentials, e.g. [{name: regcred}]."),
    ("replicas", "Replica count when autoscaling is off."),
    ("autoscaling", "HorizontalPodAutoscaler; when enabled the Deployment does not pin replicas."),
    ("podDisruptionBudget", "Voluntary-disruption budget: minAvailable when above 0, else maxUnavailable."),
    ("service", "The ClusterIP Service; the container listens on the same port."),
    ("resources", "Requests (needed by the HPA) and limits of the container."),
    ("probes", "Readiness and liveness probes (type http or tcp)."),
    ("strategy", "Rollout: rolling, blueGreen (switch with strategy.blueGreen.live) or canary (strategy.canary.weight)."),
    ("ingress", "Ingress for the service's path prefixes; annotations follow the controller."),
    ("env", "Literal environment variables, delivered through a ConfigMap."),
    ("command", "The container's entrypoint, replacing the image's."),
    ("args", "The container's arguments, replacing the image's."),
    ("files", "Configuration files (by ConfigMap key: path and content), mounted read-only; a change rolls the pods."),
    ("secretEnv", "Environment variables read from existing Secrets; values never pass through the chart."),
    ("networkPolicy", "Deny by default; allow the ingress controller, callers, callees, DNS and listed networks."),
    ("serviceAccount", "The pods' ServiceAccount; annotate for cloud IAM roles; rules grant API access (a Role) and mount the token."),
    ("podAnnotations", "Extra annotations on the pods."),
    ("podSecurityContext", "Pod security context: non-root, seccomp RuntimeDefault."),
    ("securityContext", "Container security context: read-only root, no privilege escalation, no capabilities."),
    ("nodeSelector", "Node labels the pods must run on."),
    ("tolerations", "Taints the pods tolerate."),
    ("volumes", "Persistent volumes (a claim per pod each): the workload is a StatefulSet; fixed once created."),
    ("writable", "Writable empty directories besides /tmp; the root filesystem stays read-only."),
];

/// `values.yaml`: the values serialized as YAML, with a comment line above
/// each top-level key. Top-level keys are gen's own identifiers, so the
/// comments are inserted before lines that start with `<key>:`.
fn values_yaml(v: &Values) -> Result<String, EmitError> {
    // Serialized from the struct, so keys keep its (logical) order.
    let text = serde_saphyr::to_string(v).map_err(|e| ser_err("values.yaml", e))?;
    let comments: BTreeMap<&str, &str> = VALUE_COMMENTS.iter().copied().collect();
    let mut out = String::from(HEADER);
    out.push_str("# Default values of this chart; override per environment with -f or --set.\n");
    for line in text.lines() {
        if !line.starts_with([' ', '-', '#']) {
            if let Some((key, _)) = line.split_once(':') {
                if let Some(c) = comments.get(key) {
                    out.push_str("\n# ");
                    out.push_str(c);
                    out.push('\n');
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// The values schema shared by every chart (draft-07, which every Helm 3 and
/// 4 release understands).
fn base_schema() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        let root = schemars::generate::SchemaSettings::draft07()
            .into_generator()
            .into_root_schema_for::<Values>();
        let mut v = root.to_value();
        crate::catalog::schema::strip_null(&mut v);
        tune_schema(&mut v);
        v
    })
}

fn tune_schema(v: &mut Value) {
    // Subcharts receive `global`; accept it.
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "global".to_owned(),
            json!({"description": "Values shared with subcharts (unused)."}),
        );
    }
    // Strategy blocks are required by their type.
    if let Some(s) = v.pointer_mut("/definitions/StrategyValues") {
        s["allOf"] = json!([
            {"if": {"properties": {"type": {"const": "blueGreen"}}},
             "then": {"required": ["blueGreen"], "properties": {"blueGreen": {"type": "object"}}}},
            {"if": {"properties": {"type": {"const": "canary"}}},
             "then": {"required": ["canary"], "properties": {"canary": {"type": "object"}}}}
        ]);
    }
    // An image is pinned by tag or digest.
    if let Some(s) = v.pointer_mut("/definitions/ImageValues") {
        s["anyOf"] = json!([
            {"properties": {"tag": {"minLength": 1}}},
            {"properties": {"digest": {"minLength": 1}}}
        ]);
    }
    let Some(defs) = v.get_mut("definitions").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, def) in defs.iter_mut() {
        if name == "io.k8s.apimachinery.pkg.api.resource.Quantity" {
            *def = json!({"type": ["string", "number"]});
        } else if name == "io.k8s.apimachinery.pkg.util.intstr.IntOrString" {
            *def = json!({"type": ["string", "integer"]});
        } else if name.starts_with("io.k8s.") {
            // Drop the long descriptions (they live in the Kubernetes docs)
            // and refuse unknown fields, like `kubectl --validate=strict`.
            super::validate::strict(def);
        }
    }
}

/// `values.schema.json` text, computed once for each of its two variants.
fn values_schema_text(latest_waived: bool) -> Result<&'static str, EmitError> {
    static TEXT: OnceLock<[Option<String>; 2]> = OnceLock::new();
    let texts = TEXT.get_or_init(|| {
        [false, true].map(|waived| {
            serde_json::to_string_pretty(&values_schema(waived))
                .ok()
                .map(|mut t| {
                    t.push('\n');
                    t
                })
        })
    });
    texts[usize::from(latest_waived)]
        .as_deref()
        .ok_or_else(|| ser_err("values.schema.json", "the schema does not serialize"))
}

/// The values schema of one chart: the shared one, plus the refusal of the
/// mutable `latest` tag unless the service waives it.
pub fn values_schema(latest_waived: bool) -> Value {
    let mut v = base_schema().clone();
    v["$comment"] = json!("Generated by gen. Do not edit: change the catalog and run `gen build`.");
    if !latest_waived {
        if let Some(s) = v.pointer_mut("/definitions/ImageValues") {
            s["not"] = json!({
                "properties": {"tag": {"const": "latest"}, "digest": {"maxLength": 0}},
                "required": ["tag"]
            });
        }
    }
    v
}

fn readme_env() -> Result<minijinja::Environment<'static>, EmitError> {
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .block_delimiters("[%", "%]")
        .variable_delimiters("(=", "=)")
        .comment_delimiters("[#", "#]")
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| ser_err("README template", e))?;
    let mut env = minijinja::Environment::new();
    env.set_syntax(syntax);
    env.add_template("README.md", README)
        .map_err(|e| ser_err("README template", e))?;
    Ok(env)
}

/// Markdown table cell text: no line breaks, `|` escaped.
fn cell(s: &str) -> String {
    // Most cells need no escaping: skip the three passes over them.
    if !s.contains(['\\', '|', '\n', '\r']) {
        return s.to_owned();
    }
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A code span holding `s`, fenced with enough backticks.
fn code(s: &str) -> String {
    let mut run = 0;
    let mut longest = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    cell(&format!("{fence}{pad}{s}{pad}{fence}"))
}

#[derive(Serialize)]
struct Row {
    key: String,
    description: String,
    default: String,
}

/// Flatten the values into table rows, following the schema for
/// descriptions; Kubernetes-typed sections and maps stay whole.
fn rows(schema: &Value, prefix: &str, sub: &Value, value: &Value, out: &mut Vec<Row>) {
    let target = reference(sub);
    let resolved = target
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| schema.pointer(p))
        .unwrap_or(sub);
    let description = sub
        .get("description")
        .or_else(|| resolved.get("description"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let props = resolved.get("properties").and_then(Value::as_object);
    let kube = target.is_some_and(|r| r.contains("io.k8s."));
    match (value, props) {
        (Value::Object(m), Some(p)) if !kube && !m.is_empty() => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                rows(schema, &key, p.get(k).unwrap_or(&Value::Null), x, out);
            }
        }
        _ => out.push(Row {
            key: prefix.to_owned(),
            description: cell(&description),
            default: code(&serde_json::to_string(value).unwrap_or_default()),
        }),
    }
}

/// The `$ref` of a sub-schema, directly or as draft-07's `allOf: [{$ref}]`.
fn reference(sub: &Value) -> Option<&str> {
    sub.get("$ref").and_then(Value::as_str).or_else(|| {
        match sub
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([only]) => only.get("$ref").and_then(Value::as_str),
            _ => None,
        }
    })
}

fn readme(
    env: &minijinja::Environment<'static>,
    model: &Model,
    svc: &ServiceModel,
    v: &Values,
    schema: &Value,
) -> Result<String, EmitError> {
    let mut value = serde_json::to_value(v).map_err(|e| ser_err("README", e))?;
    // The README is for reading: secret-looking defaults are shown masked
    // (values.yaml has them, for Helm).
    if let Some(env) = value.get_mut("env") {
        crate::secrets::mask_json(env, true);
    }
    crate::secrets::mask_json(&mut value, false);
    let mut table = Vec::new();
    rows(schema, "", schema, &value, &mut table);
    let (strategy, live, idle, weight) = match (&v.strategy.blue_green, &v.strategy.canary) {
        (Some(bg), _) => {
            let live = bg.live.as_str();
            let idle = if live == "blue" { "green" } else { "blue" };
            ("blueGreen", live, idle, 0)
        }
        (_, Some(c)) => ("canary", "", "", c.weight),
        _ => ("rolling", "", "", 0),
    };
    let show = |x: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString| match x {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => n.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    };
    let mut ctx = Map::new();
    ctx.insert("name".into(), json!(svc.name));
    ctx.insert("namespace".into(), json!(svc.namespace));
    ctx.insert("project".into(), json!(model.project));
    ctx.insert("description".into(), json!(description(model, svc)));
    ctx.insert("strategy".into(), json!(strategy));
    ctx.insert("stateful".into(), json!(!v.volumes.is_empty()));
    ctx.insert("live".into(), json!(live));
    ctx.insert("idle".into(), json!(idle));
    ctx.insert("weight".into(), json!(weight));
    ctx.insert(
        "controller".into(),
        json!(format!("{:?}", v.ingress.controller).to_lowercase()),
    );
    ctx.insert(
        "surge".into(),
        json!(show(&v.strategy.rolling_update.max_surge)),
    );
    ctx.insert(
        "unavailable".into(),
        json!(show(&v.strategy.rolling_update.max_unavailable)),
    );
    let environments: Vec<Value> = model
        .environments
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "context": e.context,
                "protected": e.protected,
                "command": install_command(e, svc),
            })
        })
        .collect();
    ctx.insert("environments".into(), Value::Array(environments));
    ctx.insert(
        "rows".into(),
        serde_json::to_value(&table).map_err(|e| ser_err("README", e))?,
    );
    let t = env
        .get_template("README.md")
        .map_err(|e| ser_err("README", e))?;
    t.render(minijinja::value::Serde(Value::Object(ctx)))
        .map_err(|e| ser_err("README", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Helm's merge of user values over chart defaults: maps key by key,
    /// `null` deletes, anything else replaces.
    fn coalesce(base: &Value, over: &Value) -> Value {
        match (base, over) {
            (Value::Object(a), Value::Object(b)) => {
                let mut m = a.clone();
                for (k, v) in b {
                    match (v, a.get(k)) {
                        (Value::Null, _) => {
                            m.remove(k);
                        }
                        (_, Some(old)) => {
                            m.insert(k.clone(), coalesce(old, v));
                        }
                        (_, None) => {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                }
                Value::Object(m)
            }
            _ => over.clone(),
        }
    }

    #[test]
    fn overlay_is_minimal_and_merges_back() {
        let a = json!({"x": 1, "m": {"k": "v", "gone": 1}, "l": [1, 2], "same": {"a": 1}});
        let b = json!({"x": 2, "m": {"k": "v", "new": 3}, "l": [1], "same": {"a": 1}});
        let o = overlay(&a, &b).unwrap();
        assert_eq!(o, json!({"x": 2, "m": {"new": 3, "gone": null}, "l": [1]}));
        assert_eq!(coalesce(&a, &o), b);
        assert_eq!(overlay(&a, &a), None);
    }

    /// Every environment overlay of the golden case, merged over the chart's
    /// values as Helm does, gives exactly the environment's values, which
    /// `values.schema.json` accepts.
    #[test]
    fn environment_overlays_merge_to_valid_environment_values() {
        let text = include_str!("../../../golden/environments/catalog.yaml");
        let src = crate::catalog::decode("catalog.yaml", text.as_bytes()).unwrap();
        let (_, model) = crate::model::analyze(&src).unwrap();
        let schema = jsonschema::draft7::new(&values_schema(false)).unwrap();
        let base = Values::all(&model);
        let mut checked = 0;
        for env in model.environments() {
            for (b, e) in base.iter().zip(Values::all(&env.model)) {
                let (b, e) = (
                    serde_json::to_value(b).unwrap(),
                    serde_json::to_value(&e).unwrap(),
                );
                let o = overlay(&b, &e).unwrap_or_else(|| json!({}));
                let merged = coalesce(&b, &o);
                assert_eq!(merged, e, "{}", env.name);
                assert!(schema.is_valid(&merged), "{}", env.name);
                checked += 1;
            }
        }
        assert_eq!(checked, 12);
    }
}
