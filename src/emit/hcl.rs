//! A small HCL writer: blocks, attributes and expressions built as data and
//! printed in `terraform fmt` style (two-space indent, `=` aligned across
//! consecutive single-line attributes, one blank line between blocks).
//!
//! Strings are escaped for HCL: quotes, backslashes, control characters and
//! the template introducers `${` and `%{`, so user text never becomes an
//! interpolation.

use std::fmt::Write;

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A quoted string (escaped on output).
    Str(String),
    /// An integer.
    Num(i64),
    /// A traversal such as `aws_security_group.servers.id` or `string`;
    /// gen builds these from identifiers only.
    Ref(String),
    /// An object written one key per line.
    Object(Vec<(String, Expr)>),
}

/// A block: `kind "label" ... { body }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    /// Block type, e.g. `resource`.
    pub kind: String,
    /// Labels, e.g. `["aws_security_group", "servers"]`.
    pub labels: Vec<String>,
    /// Comment lines at the top of the body (without `#`).
    pub comments: Vec<String>,
    /// Attributes in order.
    pub attrs: Vec<(String, Expr)>,
    /// Nested blocks after the attributes.
    pub blocks: Vec<Block>,
}

impl Block {
    /// A block with labels.
    pub fn new(kind: &str, labels: &[&str]) -> Block {
        Block {
            kind: kind.to_owned(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            ..Block::default()
        }
    }

    /// Add an attribute.
    pub fn attr(mut self, key: &str, value: Expr) -> Block {
        self.attrs.push((key.to_owned(), value));
        self
    }

    /// Add a comment line.
    pub fn comment(mut self, text: &str) -> Block {
        self.comments.push(text.to_owned());
        self
    }

    /// Add a nested block.
    pub fn block(mut self, b: Block) -> Block {
        self.blocks.push(b);
        self
    }
}

/// A quoted HCL string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn key(s: &str) -> String {
    if is_ident(s) {
        s.to_owned()
    } else {
        quote(s)
    }
}

/// One line comment: `#` plus the text with line breaks removed.
fn comment_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("#{flat}")
}

fn write_expr(out: &mut String, e: &Expr, indent: usize) {
    match e {
        Expr::Str(s) => out.push_str(&quote(s)),
        Expr::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Expr::Ref(r) => out.push_str(r),
        Expr::Object(items) => {
            out.push_str("{\n");
            write_attrs(out, items, indent + 2);
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
    }
}

fn single_line(e: &Expr) -> bool {
    !matches!(e, Expr::Object(_))
}

/// Attributes: runs of single-line attributes are aligned on `=`; a
/// multi-line attribute stands alone, after a blank line.
fn write_attrs(out: &mut String, attrs: &[(String, Expr)], indent: usize) {
    let pad = " ".repeat(indent);
    let mut i = 0;
    while i < attrs.len() {
        if !single_line(&attrs[i].1) {
            if i > 0 {
                out.push('\n');
            }
            let _ = write!(out, "{pad}{} = ", key(&attrs[i].0));
            write_expr(out, &attrs[i].1, indent);
            out.push('\n');
            i += 1;
            continue;
        }
        let run_end = attrs[i..]
            .iter()
            .position(|(_, e)| !single_line(e))
            .map_or(attrs.len(), |p| i + p);
        let width = attrs[i..run_end]
            .iter()
            .map(|(k, _)| key(k).chars().count())
            .max()
            .unwrap_or(0);
        for (k, e) in &attrs[i..run_end] {
            let k = key(k);
            let gap = " ".repeat(width - k.chars().count());
            let _ = write!(out, "{pad}{k}{gap} = ");
            write_expr(out, e, indent);
            out.push('\n');
        }
        i = run_end;
    }
}

fn write_block(out: &mut String, b: &Block, indent: usize) {
    let pad = " ".repeat(indent);
    out.push_str(&pad);
    out.push_str(&b.kind);
    for l in &b.labels {
        out.push(' ');
        out.push_str(&quote(l));
    }
    out.push_str(" {\n");
    for c in &b.comments {
        let _ = writeln!(out, "{pad}  {}", comment_line(c));
    }
    write_attrs(out, &b.attrs, indent + 2);
    for (n, nested) in b.blocks.iter().enumerate() {
        if n > 0 || !b.attrs.is_empty() {
            out.push('\n');
        }
        write_block(out, nested, indent + 2);
    }
    out.push_str(&pad);
    out.push_str("}\n");
}

/// A whole file: header comment lines, then the blocks.
pub fn file(header: &[&str], blocks: &[Block]) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "{}", comment_line(&format!(" {h}")));
    }
    for b in blocks {
        if !out.is_empty() {
            out.push('\n');
        }
        write_block(&mut out, b, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_cannot_interpolate_or_break_out() {
        assert_eq!(quote("${var.x}"), r#""$${var.x}""#);
        assert_eq!(quote("%{ if true }"), r#""%%{ if true }""#);
        assert_eq!(quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(quote("$5 and 100%"), r#""$5 and 100%""#);
        assert_eq!(quote("bell\u{7}"), r#""bell\u0007""#);
    }

    #[test]
    fn attributes_align_and_objects_stand_alone() {
        let b = Block::new("resource", &["aws_security_group", "x"])
            .comment("checkov:skip=CKV2_AWS_5:attached elsewhere\nsecond line")
            .attr("name", Expr::Str("p-x".into()))
            .attr("description", Expr::Str("d".into()))
            .attr(
                "tags",
                Expr::Object(vec![
                    ("Name".into(), Expr::Str("p-x".into())),
                    ("gen.dev/role".into(), Expr::Str("x".into())),
                ]),
            );
        let text = file(&["head"], &[b]);
        assert_eq!(
            text,
            "# head\n\nresource \"aws_security_group\" \"x\" {\n  #checkov:skip=CKV2_AWS_5:attached elsewhere second line\n  name        = \"p-x\"\n  description = \"d\"\n\n  tags = {\n    Name           = \"p-x\"\n    \"gen.dev/role\" = \"x\"\n  }\n}\n"
        );
    }
}
