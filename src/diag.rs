//! Diagnostics: problems located in a source file, rendered by miette.
//!
//! Library code builds [`Problem`]s and returns them; it never prints. The
//! binary picks the renderer (graphical, colour or not).
//!
//! Every rendering shows the source with its secret-looking values masked
//! ([`crate::secrets::yaml_ranges`], computed once per file on first use), and
//! a problem's message, help and labels with those values' text masked: a
//! diagnostic says where a secret is, never what it is, whichever stage
//! built it and whichever format prints it.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};

/// A source file as gen read it, with a line index for `line:col` lookups.
#[derive(Clone)]
pub struct SourceFile {
    name: String,
    text: Arc<NamedSource<String>>,
    line_starts: Arc<Vec<usize>>,
    /// Ranges to mask besides the detected ones ([`SourceFile::redacted`]).
    extra: Arc<Vec<Range<usize>>>,
    /// The masked text and the secrets' own text, on first use.
    shown: Arc<OnceLock<Shown>>,
}

/// What diagnostics show of a source file.
struct Shown {
    /// The text with every secret masked.
    source: NamedSource<String>,
    /// The masked values as written, longest first: hidden in messages too.
    secrets: Vec<String>,
}

/// Shorter masked values are not searched for in messages: they would
/// match ordinary words.
const MIN_SCRUBBED: usize = 3;

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
            extra: Arc::default(),
            shown: Arc::default(),
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

    /// The same file with the bytes of `ranges` masked too, besides the
    /// values [`crate::secrets`] finds (lint passes the spans of its
    /// secret findings, whose thresholds the policy can lower).
    pub fn redacted(&self, ranges: &[Range<usize>]) -> SourceFile {
        let mut extra = (*self.extra).clone();
        extra.extend(ranges.iter().cloned());
        SourceFile {
            text: self.text.clone(),
            name: self.name.clone(),
            line_starts: self.line_starts.clone(),
            extra: Arc::new(extra),
            shown: Arc::default(),
        }
    }

    fn shown(&self) -> &Shown {
        self.shown.get_or_init(|| {
            let text = self.text();
            let mut ranges = crate::secrets::yaml_ranges(text);
            // A node's span can run into the next line's indentation
            // (block scalars): mask the value, not the layout after it.
            ranges.extend(self.extra.iter().map(|r| {
                let kept = text.get(r.clone()).map_or(r.len(), |s| s.trim_end().len());
                r.start..r.start + kept
            }));
            let mut secrets: Vec<String> = ranges
                .iter()
                .filter_map(|r| text.get(r.clone()))
                .map(str::trim)
                .filter(|s| s.chars().count() >= MIN_SCRUBBED)
                .map(str::to_owned)
                .collect();
            secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            secrets.dedup();
            let masked = crate::secrets::mask(text, &ranges);
            Shown {
                source: NamedSource::new(self.name.clone(), masked).with_language("yaml"),
                secrets,
            }
        })
    }

    /// The text as diagnostics show it: secret-looking values masked.
    pub fn shown_text(&self) -> &str {
        self.shown().source.inner()
    }

    /// `s` (a message about this file) with the text of every masked value
    /// replaced by `***`.
    pub fn scrub<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let secrets = &self.shown().secrets;
        if !secrets.iter().any(|x| s.contains(x.as_str())) {
            return Cow::Borrowed(s);
        }
        let mut out = s.to_owned();
        for x in secrets {
            out = out.replace(x.as_str(), "***");
        }
        Cow::Owned(out)
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

    /// The message as every format prints it: secret values masked.
    pub fn shown_message(&self) -> Cow<'_, str> {
        self.source.scrub(&self.message)
    }

    /// The help line as every format prints it: secret values masked.
    pub fn shown_help(&self) -> Option<Cow<'_, str>> {
        self.help.as_deref().map(|h| self.source.scrub(h))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown_message())
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
        self.shown_help()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source.shown().source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let scrub = |s: &str| self.source.scrub(s).into_owned();
        let primary =
            LabeledSpan::new_primary_with_span(Some(scrub(&self.label)), to_span(&self.span));
        let rest = self
            .notes
            .iter()
            .map(move |n| LabeledSpan::new_with_span(Some(scrub(&n.text)), to_span(&n.span)));
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
