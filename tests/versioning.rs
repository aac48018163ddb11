//! Versions gen writes into its output: the catalog's `chart_version` sets
//! every chart's Chart.yaml `version` and the `helm.sh/chart` label of the
//! objects it renders (both renderers), instead of the constant default.

mod common;

use std::path::Path;

/// The strategies example with `extra` inserted after its `project:` line.
fn catalog_with(dir: &Path, extra: &str) -> String {
    let text =
        std::fs::read_to_string(common::root().join("examples/strategies/catalog.yaml")).unwrap();
    let (head, tail) = text.split_at(text.find("project: ").unwrap());
    let nl = tail.find('\n').unwrap() + 1;
    let text = format!("{head}{}{extra}{}", &tail[..nl], &tail[nl..]);
    std::fs::write(dir.join("catalog.yaml"), &text).unwrap();
    text
}

/// The `version:` of a Chart.yaml, unquoted.
fn chart_version(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix("version: "))
        .expect("a version line")
        .trim_matches('"')
}

fn files_named(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == name)
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn chart_version_sets_chart_yaml_and_the_chart_label() {
    let d = tempfile::tempdir().unwrap();
    catalog_with(d.path(), "chart_version: 2.3.0-rc.1+build.7\n");
    let o = common::gen(d.path(), &["build"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    let charts = files_named(&d.path().join("out/charts"), "Chart.yaml");
    assert!(charts.len() >= 3, "{charts:?}");
    for chart in &charts {
        let text = std::fs::read_to_string(chart).unwrap();
        assert_eq!(
            chart_version(&text),
            "2.3.0-rc.1+build.7",
            "{}:\n{text}",
            chart.display()
        );
    }
    // gen's own render labels each object with the chart and its version,
    // as Helm does (`<chart>-<version>`, `+` made `_`).
    let mut labelled = 0;
    for e in walkdir::WalkDir::new(d.path().join("out/manifests"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        for line in text.lines().filter(|l| l.contains("helm.sh/chart:")) {
            assert!(line.ends_with("-2.3.0-rc.1_build.7"), "{line}");
            labelled += 1;
        }
    }
    assert!(labelled > 0, "no helm.sh/chart label in the manifests");
    // Without the key: the default, as in every committed output tree.
    catalog_with(d.path(), "");
    let o = common::gen(d.path(), &["build"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    for chart in files_named(&d.path().join("out/charts"), "Chart.yaml") {
        let text = std::fs::read_to_string(&chart).unwrap();
        assert_eq!(
            chart_version(&text),
            gen::emit::helm::CHART_VERSION,
            "{text}"
        );
    }
}

#[test]
fn chart_version_must_be_semver() {
    let d = tempfile::tempdir().unwrap();
    for bad in ["\"1.0\"", "v1.2.3", "1.02.3"] {
        let text = catalog_with(d.path(), &format!("chart_version: {bad}\n"));
        let line = text
            .lines()
            .position(|l| l.starts_with("chart_version:"))
            .unwrap()
            + 1;
        let o = common::gen(d.path(), &["build"]);
        let (out, err) = common::text(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {out}{err}");
        assert!(
            err.contains(&format!("catalog.yaml:{line}:16")) && err.contains("chart_version"),
            "{bad}: a located diagnostic naming the key:\n{err}"
        );
        assert!(!d.path().join("out").exists());
    }
}
