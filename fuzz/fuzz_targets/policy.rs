//! Arbitrary bytes as gen-policy.yaml, applied to a fixed valid catalog
//! (examples/msa-k3s). Parsing must never panic; a refused policy carries
//! located problems; an accepted one lints without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CATALOG: &[u8] = include_bytes!("../../examples/msa-k3s/catalog.yaml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match gen::lint::Policy::parse("gen-policy.yaml", text) {
        Ok(policy) => {
            let report = gen::lint_only("catalog.yaml", CATALOG, &policy, "2026-11-22")
                .expect("the example catalog is valid");
            let _ = gen::lint::format::json(&report);
            let _ = gen::lint::format::sarif(&report, "0.0.0");
            let _ = gen::lint::format::github(&report);
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "a refusal without problems");
            for p in &problems.0 {
                let len = p.source().text().len();
                assert!(
                    p.span.start <= p.span.end && p.span.end <= len,
                    "span outside the input: {p:?}"
                );
                let (line, col) = p.line_col();
                assert!(line >= 1 && col >= 1, "problem without a location: {p:?}");
            }
        }
    }
});
