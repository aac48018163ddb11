//! The committed schema must equal the one generated from the Rust types, and
//! `gen schema` must print exactly it.

mod common;

#[test]
fn committed_schema_matches_types() {
    let generated = gen::catalog::schema::schema_text();
    common::assert_matches_file(
        &common::root().join("schemas/catalog.schema.json"),
        &generated,
    );
}

/// The Kubernetes kind schemas compiled into gen at build time are the ones
/// k8s-openapi generates (made strict); `GEN_BLESS=1` rewrites them.
#[test]
fn committed_k8s_schemas_match_openapi() {
    for (path, generated) in gen::emit::validate::kind_schemas() {
        common::assert_matches_file(&common::root().join(path), &generated);
    }
}

#[test]
fn gen_schema_prints_the_committed_schema() {
    let o = common::gen(&common::root(), &["schema"]);
    assert!(o.status.success());
    let committed =
        std::fs::read_to_string(common::root().join("schemas/catalog.schema.json")).unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap(), committed);
}

/// The schema's URL names the version of gen that wrote it, so an editor
/// (or a catalog's `$schema` comment) can pin the schema of one release.
#[test]
fn schema_id_carries_the_version() {
    let schema = gen::catalog::schema::schema();
    assert_eq!(
        schema["$id"],
        format!(
            "https://gen.dev/schemas/v{}/catalog.schema.json",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn schema_is_valid_draft_2020_12() {
    let schema = gen::catalog::schema::schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(
        jsonschema::meta::is_valid(schema),
        "generated schema is not a valid JSON Schema"
    );
    // Unknown keys are rejected everywhere a struct is described.
    let defs = schema["$defs"].as_object().unwrap();
    for name in [
        "Service",
        "Hpa",
        "Ingress",
        "K3s",
        "Aws",
        "Strategy",
        "Probes",
        "Resources",
        "Defaults",
    ] {
        assert_eq!(
            defs[name]["additionalProperties"], false,
            "{name} must reject unknown keys"
        );
    }
}

#[test]
fn every_example_declares_the_schema_for_editors() {
    for e in std::fs::read_dir(common::root().join("examples"))
        .unwrap()
        .flatten()
    {
        let cat = e.path().join("catalog.yaml");
        if !cat.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&cat).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../../schemas/catalog.schema.json"),
            "{} must start with the yaml-language-server schema comment",
            cat.display()
        );
    }
}
