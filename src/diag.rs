//! Diagnostics: problems located in a source file, rendered by miette.
//!
//! Library code builds [`Problem`]s and returns them; it never prints. The
//! binary picks the renderer (graphical, colour or not).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};

/// A source file as gen read it, with a line index for `line:col` lookups.
#[derive(Clone)]
pub struct SourceFile {
    name: String,
    text: Arc<NamedSource<String>>,
    line_starts: Arc<Vec<usize>>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .finish()
    }
}

impl SourceFile {
    /// Wrap already-decoded text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let name = name.into();
        let text: String = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            text: Arc::new(NamedSource::new(name.clone(), text).with_language("yaml")),
            name,
            line_starts: Arc::new(line_starts),
        }
    }

    /// The name shown in diagnostics (the path as the user gave it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The decoded text.
    pub fn text(&self) -> &str {
        self.text.inner()
    }

    /// The same file with the bytes of `range` masked by `*` (one per byte,
    /// so every offset and line stays where it was): diagnostics about a
    /// secret show where it is, never what it is.
    pub fn redacted(&self, ranges: &[Range<usize>]) -> SourceFile {
        let text = self.text();
        let mut bytes = text.as_bytes().to_vec();
        for r in ranges {
            let start = r.start.min(bytes.len());
            let end = r.end.clamp(start, bytes.len());
            for b in &mut bytes[start..end] {
                if *b != b'\n' {
                    *b = b'*';
                }
            }
        }
        // Masking whole characters' bytes keeps UTF-8 valid except at range
        // edges inside a character; fall back to a lossy decode there.
        let masked = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        SourceFile {
            text: Arc::new(NamedSource::new(self.name.clone(), masked).with_language("yaml")),
            name: self.name.clone(),
            line_starts: self.line_starts.clone(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn location(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let offset = offset.min(text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, col + 1)
    }
}

/// A secondary label on a problem.
#[derive(Debug, Clone)]
pub struct Note {
    /// Byte range in the source.
    pub span: Range<usize>,
    /// What this place has to do with the problem.
    pub text: String,
}

/// One problem found in a source file, pointing at the node that causes it.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Stable machine-readable code, e.g. `catalog::unknown-key`.
    pub code: &'static str,
    /// What is wrong, one sentence.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The primary location.
    pub span: Range<usize>,
    /// Text of the primary label.
    pub label: String,
    /// Related locations.
    pub notes: Vec<Note>,
    /// Error for catalog problems; lint findings carry their rule's.
    pub severity: Severity,
    source: SourceFile,
}

impl Problem {
    /// A problem at `span` in `source`.
    pub fn new(
        source: &SourceFile,
        code: &'static str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            code,
            message: message.into(),
            help: None,
            label: String::from("here"),
            span,
            notes: Vec::new(),
            severity: Severity::Error,
            source: source.clone(),
        }
    }

    /// Set the severity.
    #[must_use]
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Set the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Set the primary label text.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Add a secondary label.
    #[must_use]
    pub fn note(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        self.notes.push(Note {
            span,
            text: text.into(),
        });
        self
    }

    /// The file name, line and column of the primary span: `catalog.yaml:12:5`.
    pub fn location(&self) -> String {
        let (line, col) = self.source.location(self.span.start);
        format!("{}:{line}:{col}", self.source.name())
    }

    /// 1-based line and column of the primary span.
    pub fn line_col(&self) -> (usize, usize) {
        self.source.location(self.span.start)
    }

    /// The source file this problem is in.
    pub fn source(&self) -> &SourceFile {
        &self.source
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

fn to_span(r: &Range<usize>) -> SourceSpan {
    SourceSpan::new(r.start.into(), r.end.saturating_sub(r.start))
}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.source.text)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary =
            LabeledSpan::new_primary_with_span(Some(self.label.clone()), to_span(&self.span));
        let rest = self
            .notes
            .iter()
            .map(|n| LabeledSpan::new_with_span(Some(n.text.clone()), to_span(&n.span)));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }
}

/// All problems found in one run, in source order.
#[derive(Debug, Clone, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Sort by position (then code) and drop exact duplicates.
    pub fn finish(mut self) -> Self {
        // A YAML-level problem (bad tag, bad merge) explains any schema
        // complaint about the same node; keep only the former.
        let yaml_spans: Vec<Range<usize>> = self
            .0
            .iter()
            .filter(|p| p.code.starts_with("catalog::yaml-"))
            .map(|p| p.span.clone())
            .collect();
        self.0
            .retain(|p| p.code.starts_with("catalog::yaml-") || !yaml_spans.contains(&p.span));
        self.0.sort_by(|a, b| {
            (a.span.start, a.span.end, a.code, &a.message).cmp(&(
                b.span.start,
                b.span.end,
                b.code,
                &b.message,
            ))
        });
        self.0
            .dedup_by(|a, b| a.span == b.span && a.message == b.message);
        self
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Iterate over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.len() {
            1 => write!(f, "the catalog has 1 problem"),
            n => write!(f, "the catalog has {n} problems"),
        }
    }
}

impl std::error::Error for Problems {}
