//! Diagnostics on very long lines. A one-line JSON catalog is valid YAML,
//! and miette's graphical renderer prints a label's whole line and pads
//! its underline with a formatting width, which panics from 65,536 columns
//! on. [`clip`] wraps a diagnostic so that, when a label sits on a line
//! longer than [`MAX_LINE`] bytes, the renderer sees a window of that line
//! around the label instead, still named by its real line and column, so
//! `file:line:col` stays exact and the output stays small.
//!
//! Pure: it reads the diagnostic's source through miette's `SourceCode`
//! and prints nothing; the binary renders the result.

use std::fmt;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, Severity, SourceCode, SourceSpan,
    SpanContents,
};

/// Lines up to this many bytes are rendered whole, as miette does.
pub const MAX_LINE: usize = 512;
/// Bytes of a long line shown before a label's start...
const BEFORE: usize = 60;
/// ...and from its start on.
const AFTER: usize = 120;
/// Marks a cut in an excerpt.
const CUT: &str = "…";

/// `diag` rendered by miette's graphical handler without colour (100
/// columns), through [`clip`]: what `gen` prints, for tests and fuzzing.
pub fn render_plain(diag: &dyn Diagnostic) -> Result<String, fmt::Error> {
    let mut s = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut s, &clip(diag))?;
    Ok(s)
}

/// A diagnostic as the renderer should see it: the original, or one whose
/// source is a set of excerpts of long lines with the labels moved onto them.
pub struct Clipped<'a> {
    inner: &'a dyn Diagnostic,
    excerpts: Option<(Excerpts, Vec<LabeledSpan>)>,
}

/// Wrap `diag` for rendering; a no-op unless a label sits on (or next to) a
/// line longer than [`MAX_LINE`].
pub fn clip(diag: &dyn Diagnostic) -> Clipped<'_> {
    let excerpts = diag
        .source_code()
        .zip(diag.labels())
        .and_then(|(src, labels)| {
            let labels: Vec<LabeledSpan> = labels.collect();
            let long = labels.iter().any(|l| {
                src.read_span(l.inner(), 1, 1).is_ok_and(|c| {
                    c.data()
                        .split(|b| *b == b'\n')
                        .any(|line| line.len() > MAX_LINE)
                })
            });
            long.then(|| Excerpts::cut(src, &labels))
        });
    Clipped {
        inner: diag,
        excerpts,
    }
}

/// One excerpt: a window of one source line.
struct Segment {
    /// Byte range in [`Excerpts::text`], without the newline.
    start: usize,
    end: usize,
    /// Bytes of the leading cut mark (0 when the window starts the line).
    prefix: usize,
    /// 0-based line of the original source.
    line: usize,
    /// 0-based column (in characters) of the window's first original character.
    column: usize,
}

/// The excerpts of a diagnostic's long lines, one per label, as a source.
struct Excerpts {
    name: Option<String>,
    text: String,
    segments: Vec<Segment>,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl Excerpts {
    /// A window of each label's first line around its start; the labels
    /// moved onto the windows (and cut at their ends).
    fn cut(src: &dyn SourceCode, labels: &[LabeledSpan]) -> (Excerpts, Vec<LabeledSpan>) {
        let mut ex = Excerpts {
            name: None,
            text: String::new(),
            segments: Vec::new(),
        };
        let mut moved = Vec::new();
        for l in labels {
            // From the line before the label's through the line after it:
            // without context lines miette cuts at the span's ends.
            let Ok(c) = src
                .read_span(l.inner(), 1, 1)
                .or_else(|_| src.read_span(&SourceSpan::new(l.offset().into(), 0), 1, 1))
            else {
                continue;
            };
            if ex.name.is_none() {
                ex.name = c.name().map(str::to_owned);
            }
            let data = String::from_utf8_lossy(c.data());
            let line_start = c.span().offset();
            let rel = l.offset().saturating_sub(line_start);
            // The line holding the label's start, without its line break.
            let first = data[..floor_boundary(&data, rel)]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line_no = c.line() + data[..first].matches('\n').count();
            let end = data[first..]
                .find('\n')
                .map_or(data.len(), |i| first + i)
                .max(floor_boundary(&data, rel));
            let line = data[first..end].trim_end_matches('\r');
            let rel = floor_boundary(line, rel - first.min(rel));
            let ws = floor_boundary(line, rel.saturating_sub(BEFORE));
            let we = ceil_boundary(line, rel + AFTER);
            let label_end = ceil_boundary(line, (rel + l.len()).min(we));
            let prefix = if ws > 0 { CUT } else { "" };
            let suffix = if we < line.len() { CUT } else { "" };
            let start = ex.text.len();
            ex.text.push_str(prefix);
            ex.text.push_str(&line[ws..we]);
            ex.text.push_str(suffix);
            ex.segments.push(Segment {
                start,
                end: ex.text.len(),
                prefix: prefix.len(),
                line: line_no,
                column: line[..ws].chars().count(),
            });
            ex.text.push('\n');
            let at = start + prefix.len() + (rel - ws);
            moved.push(LabeledSpan::new_with_span(
                l.label().map(str::to_owned),
                SourceSpan::new(at.into(), label_end.saturating_sub(rel)),
            ));
            if l.primary() {
                let last = moved.pop().expect("just pushed");
                moved.push(LabeledSpan::new_primary_with_span(
                    last.label().map(str::to_owned),
                    *last.inner(),
                ));
            }
        }
        (ex, moved)
    }
}

impl SourceCode for Excerpts {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        _before: usize,
        _after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let (off, len) = (span.offset(), span.len());
        // A span within one excerpt; spans across excerpts (miette merging
        // two labels' contexts) are refused, so each renders on its own.
        let seg = self
            .segments
            .iter()
            .find(|s| s.start <= off && off + len <= s.end)
            .ok_or(MietteError::OutOfBounds)?;
        let into = off.max(seg.start + seg.prefix);
        let column = seg.column + self.text[seg.start + seg.prefix..into].chars().count();
        let data = &self.text.as_bytes()[seg.start..seg.end];
        let whole = SourceSpan::new(seg.start.into(), seg.end - seg.start);
        Ok(Box::new(match &self.name {
            Some(n) => MietteSpanContents::new_named(n.clone(), data, whole, seg.line, column, 1),
            None => MietteSpanContents::new(data, whole, seg.line, column, 1),
        }))
    }
}

impl fmt::Debug for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Clipped<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Diagnostic for Clipped<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<Severity> {
        self.inner.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.url()
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        match &self.excerpts {
            Some((ex, _)) => Some(ex),
            None => self.inner.source_code(),
        }
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match &self.excerpts {
            Some((_, labels)) => Some(Box::new(labels.iter().cloned())),
            None => self.inner.labels(),
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.inner.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.inner.diagnostic_source()
    }
}

#[cfg(test)]
mod tests {
    use super::render_plain;
    use crate::diag::{Problem, SourceFile};
    use miette::{GraphicalReportHandler, GraphicalTheme};

    fn render(p: &Problem) -> String {
        render_plain(p).unwrap()
    }

    #[test]
    fn long_lines_render_a_window_with_the_exact_location() {
        for col in [1, 61, 600, 65_535, 65_536, 65_537, 200_000] {
            for tail in ["", "é", "\nnext: 1\n"] {
                // Multi-byte padding on long lines: columns count characters.
                // (`port`: a name the secret masker leaves alone.)
                let pad = if col > 300 { "é" } else { "x" };
                let text = format!("{}port: 1{tail}", pad.repeat(col - 1));
                let src = SourceFile::new("c.yaml", text.clone());
                let at = text.find("port").unwrap();
                let p = Problem::new(&src, "t::t", at..at + 4, "bad port")
                    .note(0..2, "the line starts here");
                let out = render(&p);
                assert!(out.contains(&format!("[c.yaml:1:{col}]")), "{col}: {out}");
                assert!(out.contains("port: 1"), "{col}: {out}");
                assert!(out.len() < 4_000, "{col}: {} bytes", out.len());
            }
        }
    }

    #[test]
    fn short_lines_render_as_before() {
        let src = SourceFile::new("c.yaml", "a: 1\nkey: 2\n");
        let p = Problem::new(&src, "t::t", 5..8, "bad key");
        let mut plain = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .render_report(&mut plain, &p)
            .unwrap();
        assert_eq!(render(&p), plain);
    }
}
