//! What the fuzz targets check, in one place: the cargo-fuzz targets in
//! `fuzz_targets/` and `tests/fuzz_regressions.rs` (which replays the
//! reproducers and the seed corpus under `cargo test`) both include this
//! file, so the properties cannot drift apart and a change to gen's API
//! that breaks the fuzz targets breaks `cargo test` first.
//!
//! A broken property panics; that is what libFuzzer records as a crash.

// Each includer uses only part of it.
#![allow(dead_code)]

use gen::lint::{format, Policy};
use gen::Problem;

/// The date waivers are judged against; fixed so runs are reproducible.
pub const TODAY: &str = "2026-11-22";

/// The catalog every policy input is applied to.
pub const POLICY_CATALOG: &[u8] = include_bytes!("../examples/msa-k3s/catalog.yaml");

/// At most this many environments are re-checked one by one per input.
const MAX_ENVIRONMENTS: usize = 3;

/// A refusal must carry problems, each located inside the input.
pub fn assert_located(problems: &[Problem]) {
    assert!(!problems.is_empty(), "a refusal without problems");
    for p in problems {
        let len = p.source().text().len();
        assert!(
            p.span.start <= p.span.end && p.span.end <= len,
            "span {:?} outside the {len}-byte input: {p:?}",
            p.span
        );
        let (line, col) = p.line_col();
        assert!(line >= 1 && col >= 1, "problem without a location: {p:?}");
        assert!(!p.message.is_empty(), "problem without a message: {p:?}");
        assert_renders(p);
    }
}

/// A problem renders as gen prints it, without a panic (miette's own
/// renderer panics past column 65,535); on a long line the excerpt names
/// the problem's exact line and column.
pub fn assert_renders(p: &Problem) {
    let text = gen::excerpt::render_plain(p).unwrap_or_else(|e| panic!("cannot render {p:?}: {e}"));
    let (line, col) = p.line_col();
    let long = p
        .source()
        .text()
        .split('\n')
        .nth(line - 1)
        .is_some_and(|l| l.len() > gen::excerpt::MAX_LINE);
    if long {
        assert!(
            text.contains(&format!(":{line}:{col}]")),
            "the excerpt does not name {line}:{col}: {text}"
        );
    }
}

/// No two objects gen emits share (namespace, kind, name), in the default
/// render or any environment's: the catalog check refuses such names, so an
/// accepted catalog never applies one object over another.
pub fn assert_unique_objects(model: &gen::model::Model) {
    let derived = gen::emit::Derived::of(model);
    let renders = std::iter::once((model, &derived.values)).chain(
        model
            .environments()
            .zip(&derived.environments)
            .map(|(e, (values, _))| (&e.model, values)),
    );
    for (m, values) in renders {
        let files = gen::emit::manifests::files(m, values, "manifests")
            .unwrap_or_else(|e| panic!("an accepted catalog does not render: {e}"));
        let mut seen = std::collections::BTreeSet::new();
        for (what, o) in files.iter().flat_map(|f| &f.objects) {
            let id = (
                o["metadata"]["namespace"].to_string(),
                o["kind"].to_string(),
                o["metadata"]["name"].to_string(),
            );
            assert!(seen.insert(id), "{what} is emitted twice in its namespace");
        }
    }
}

/// Masking keeps every offset and line of a source: diagnostics point at
/// the same places in the masked text.
pub fn assert_masking_keeps_offsets(src: &gen::SourceFile) {
    let (raw, shown) = (src.text(), src.shown_text());
    assert_eq!(raw.len(), shown.len(), "masking moved offsets");
    let breaks = |t: &str| t.match_indices('\n').map(|(i, _)| i).collect::<Vec<_>>();
    assert_eq!(breaks(raw), breaks(shown), "masking moved lines");
    assert_eq!(
        raw.chars().count(),
        shown.chars().count(),
        "masking moved columns"
    );
}

/// Lint and the masker use one detector: every value a secret rule flags
/// (default thresholds) is masked in the catalog as diagnostics of any stage
/// show it, unless the finding points at an alias (`*name`), whose anchored
/// value is what is masked.
fn assert_secret_findings_masked(text: &str, report: &gen::lint::Report) {
    let masked = gen::secrets::mask(text, &gen::secrets::yaml_ranges(text));
    for f in &report.findings {
        if !gen::lint::SECRET_RULES.contains(&f.rule) {
            continue;
        }
        let span = f.problem.span.clone();
        let (Some(raw), Some(shown)) = (text.get(span.clone()), masked.get(span.clone())) else {
            panic!("{}: span {span:?} not on character boundaries", f.rule);
        };
        if raw.starts_with('*') {
            continue;
        }
        // Quotes and the layout around a value may show; its bytes not.
        let value = shown.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
        assert!(
            value
                .chars()
                .all(|c| gen::secrets::MASK_CHARS.contains(&c) || c == '\n' || c == ' '),
            "{} flags {raw:?}, which the masker shows as {shown:?}",
            f.rule
        );
    }
}

/// No env variable of an accepted catalog (the strings every chart's
/// ConfigMap carries), in any environment, holds a character a chart cannot
/// carry.
fn assert_no_refused_character(model: &gen::model::Model) {
    let models = std::iter::once(model).chain(model.environments().map(|e| &e.model));
    for m in models {
        for s in &m.services {
            for (k, v) in &s.env {
                for x in [k, v] {
                    assert_eq!(gen::model::chars::first_refused(x), None, "accepted: {x:?}");
                }
            }
        }
    }
}

fn print_every_format(report: &gen::lint::Report) {
    let _ = format::json(report);
    let _ = format::sarif(report, "0.0.0");
    let _ = format::github(report);
    for f in &report.findings {
        let _ = f.line_col();
        assert_renders(&f.problem);
    }
}

/// Arbitrary bytes as a catalog: decode, parse, validate, emit every
/// environment, lint, print every lint format. An accepted catalog with
/// environments must also build each environment alone, to the same bytes
/// as the full build, and refuse an environment it does not define.
/// Returns whether the catalog was accepted.
pub fn catalog(data: &[u8]) -> bool {
    let policy = Policy::default();
    match gen::check("catalog.yaml", data, &policy, TODAY) {
        Ok(checked) => {
            print_every_format(&checked.report);
            assert_unique_objects(&checked.model);
            assert_masking_keeps_offsets(&checked.parsed.source);
            assert_secret_findings_masked(checked.parsed.source.text(), &checked.report);
            assert_no_refused_character(&checked.model);
            let names: Vec<String> = checked
                .model
                .environments()
                .take(MAX_ENVIRONMENTS)
                .map(|e| e.name.clone())
                .collect();
            for name in &names {
                let only = std::slice::from_ref(name);
                let alone =
                    gen::check_environments("catalog.yaml", data, &policy, TODAY, Some(only))
                        .unwrap_or_else(|e| panic!("environment `{name}` alone: {e}"));
                let prefix = format!("environments/{name}/");
                for (path, bytes) in alone.tree.iter() {
                    if path.starts_with(&prefix) {
                        assert_eq!(
                            checked.tree.get(path),
                            Some(bytes),
                            "{path}: differs between `--env {name}` and the full build"
                        );
                    }
                }
            }
            let unknown = [String::from("no-such-environment-\u{1f980}")];
            match gen::check_environments("catalog.yaml", data, &policy, TODAY, Some(&unknown)) {
                Err(gen::CompileError::UnknownEnvironment { .. }) => {}
                other => panic!(
                    "an undefined environment was not refused: {:?}",
                    other.err()
                ),
            }
            true
        }
        Err(gen::CompileError::Catalog(problems)) => {
            assert_located(&problems.0);
            for p in problems.iter() {
                assert_masking_keeps_offsets(p.source());
                let _ = (p.to_string(), p.shown_help());
            }
            false
        }
        Err(e) => panic!("internal error on a catalog: {e}"),
    }
}

/// Arbitrary bytes as `gen-policy.yaml`, applied to [`POLICY_CATALOG`].
/// A refused policy carries located problems; an accepted one lints and
/// prints in every format. Returns whether the policy was accepted.
pub fn policy(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match Policy::parse("gen-policy.yaml", text) {
        Ok(policy) => {
            let report = gen::lint_only("catalog.yaml", POLICY_CATALOG, &policy, TODAY)
                .expect("the example catalog is valid");
            print_every_format(&report);
            true
        }
        Err(problems) => {
            assert_located(&problems.0);
            false
        }
    }
}
