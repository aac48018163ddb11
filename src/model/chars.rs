//! Characters no catalog string may hold.
//!
//! Every catalog string can reach a chart's `values.yaml` (env values,
//! annotations, hosts, paths, names, ...), where Helm prints it with
//! `toYaml`. Go's YAML encoder cannot carry DEL, the C1 controls or the
//! noncharacters U+FFFE and U+FFFF: `toYaml` fails silently and the chart
//! renders without the value (an empty ConfigMap: every env variable of the
//! service gone). NEL (U+0085) comes out raw, and YAML 1.1 readers (Go's,
//! PyYAML) read it as a line break. The other C0 controls but tab and line
//! feed have no business in a configuration value, and NUL cannot be in an
//! environment variable at all. So the catalog refuses them all, at the
//! string that holds one, naming the character and its position.
//!
//! What is accepted (tab, line feed, U+00A0, the BOM U+FEFF, U+2028/U+2029,
//! every other code point) is held equal through Helm's engine by
//! `tests/peers.rs`.

use crate::catalog::push_pointer;
use crate::catalog::schema::dotted;
use crate::catalog::Parsed;
use crate::diag::Problem;
use serde_json::Value;

/// Why `c` cannot be in a catalog string, or None when it can.
pub fn refused(c: char) -> Option<&'static str> {
    match c {
        '\t' | '\n' => None,
        '\0' => Some("NUL, which no environment variable or file can hold"),
        '\u{1}'..='\u{1f}' => Some("a control character"),
        '\u{7f}' => Some("DELETE, a control character Helm's toYaml cannot print"),
        '\u{85}' => Some("NEXT LINE, which YAML 1.1 readers such as Helm's turn into a line break"),
        '\u{80}'..='\u{9f}' => Some("a C1 control character Helm's toYaml cannot print"),
        '\u{fffe}' | '\u{ffff}' => Some("a Unicode noncharacter Helm's toYaml cannot print"),
        _ => None,
    }
}

/// The first refused character of `s`: its 1-based position (in
/// characters), the character and why.
pub fn first_refused(s: &str) -> Option<(usize, char, &'static str)> {
    s.chars()
        .enumerate()
        .find_map(|(i, c)| refused(c).map(|why| (i + 1, c, why)))
}

/// A problem for every catalog string (key or value) that holds a refused
/// character.
pub fn check(parsed: &Parsed) -> Vec<Problem> {
    let mut out = Vec::new();
    // The typed catalog as JSON: the strings gen uses, under the pointers
    // they were written at (`x-` extension keys are gone already).
    if let Ok(v) = serde_json::to_value(&parsed.catalog) {
        walk(parsed, "", &v, &mut out);
    }
    out
}

fn walk(parsed: &Parsed, pointer: &str, v: &Value, out: &mut Vec<Problem>) {
    match v {
        Value::String(s) => report(parsed, pointer, false, s, out),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(parsed, &push_pointer(pointer, &i.to_string()), x, out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let p = push_pointer(pointer, k);
                report(parsed, &p, true, k, out);
                walk(parsed, &p, x, out);
            }
        }
        _ => {}
    }
}

fn report(parsed: &Parsed, pointer: &str, key: bool, s: &str, out: &mut Vec<Problem>) {
    let Some((at, c, why)) = first_refused(s) else {
        return;
    };
    let node = if key {
        parsed.spans.key_or_value(pointer)
    } else {
        parsed.spans.value(pointer)
    };
    // Written raw in the file: point at the character itself.
    let text = parsed.source.text();
    let span = text
        .get(node.clone())
        .and_then(|t| t.find(c))
        .map_or(node.clone(), |i| {
            node.start + i..node.start + i + c.len_utf8()
        });
    let what = if key {
        format!("the key `{}`", dotted(pointer))
    } else {
        format!("`{}`", dotted(pointer))
    };
    let code = u32::from(c);
    let escape = if code <= 0xff {
        format!("`\\x{code:02x}` or `\\u{code:04x}`")
    } else {
        format!("`\\u{code:04x}`")
    };
    out.push(
        Problem::new(
            &parsed.source,
            "catalog::refused-character",
            span,
            format!("{what} holds U+{code:04X} ({why}) at character {at}"),
        )
        .label(format!("U+{code:04X} here"))
        .help(format!(
            "remove it (a chart cannot carry it: Helm renders the service without its values or \
changes the text); if the catalog writes it as an escape ({escape}) meant as text, write the \
backslash twice in a double-quoted string, or use single quotes"
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for c in [
            '\0', '\u{1}', '\r', '\u{1b}', '\u{1f}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}',
            '\u{fffe}', '\u{ffff}',
        ] {
            assert!(refused(c).is_some(), "U+{:04X}", u32::from(c));
        }
        for c in [
            '\t',
            '\n',
            ' ',
            '~',
            '\u{a0}',
            '\u{feff}',
            '\u{2028}',
            '\u{2029}',
            '\u{fffd}',
            '\u{10ffff}',
        ] {
            assert!(refused(c).is_none(), "U+{:04X}", u32::from(c));
        }
        assert_eq!(
            first_refused("ab\u{7f}c\u{85}"),
            Some((3, '\u{7f}', refused('\u{7f}').unwrap()))
        );
    }
}
