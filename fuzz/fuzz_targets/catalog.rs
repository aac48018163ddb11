//! Arbitrary bytes as a catalog: decode, parse, validate, emit, lint, then
//! every machine-readable lint format. gen must never panic, and a refusal
//! must carry located problems.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policy = gen::lint::Policy::default();
    match gen::check("catalog.yaml", data, &policy, "2026-11-22") {
        Ok(checked) => {
            let _ = gen::lint::format::json(&checked.report);
            let _ = gen::lint::format::sarif(&checked.report, "0.0.0");
            let _ = gen::lint::format::github(&checked.report);
            for f in &checked.report.findings {
                let _ = f.line_col();
            }
        }
        Err(gen::CompileError::Catalog(problems)) => {
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
        Err(e @ gen::CompileError::Emit(_)) => {
            panic!("internal error on an accepted catalog: {e}");
        }
    }
});
