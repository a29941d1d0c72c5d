//! Findings: what validation says about a spec, addressed by YAML path so
//! the pure checks never need to know about files or line numbers. The
//! loader turns a path into `file:line:col`.

use std::fmt;

use crate::policy::RuleId;

/// How bad a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not fail validation.
    Warning,
    /// The spec cannot be used as it is.
    Error,
}

/// One segment of a path into the YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(k) => f.write_str(k),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Where a finding points: a path, and whether it names the key itself
/// (a bad topic name) or its value (a bad partition count).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pointer {
    /// Segments from the document root.
    pub path: Vec<Seg>,
    /// Point at the last key rather than at its value.
    pub at_key: bool,
}

impl Pointer {
    /// A pointer at the value found by following `keys`.
    pub fn value<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Pointer { path: keys.into_iter().map(|k| Seg::Key(k.into())).collect(), at_key: false }
    }

    /// A pointer at the last key of `keys`.
    pub fn key<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Pointer { at_key: true, ..Pointer::value(keys) }
    }
}

/// One thing validation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Where in the document.
    pub at: Pointer,
    /// The other side of a contradiction, when it has one: its location is
    /// named in the help.
    pub also: Option<Pointer>,
    /// The policy rule broken, for a policy violation.
    pub rule: Option<RuleId>,
    /// The waiver that covers this violation, if one does: the finding is
    /// then a warning, and `waived.severity` is what it would have been.
    pub waived: Option<Waived>,
}

/// A violation a topic's waiver covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waived {
    /// The severity the rule gives the violation.
    pub severity: Severity,
    /// The waiver's reason.
    pub reason: String,
    /// Its last day, if it has one.
    pub expires: Option<String>,
    /// Where the waiver is written.
    pub at: Pointer,
}

impl Finding {
    /// An error at `at`.
    pub fn error(at: Pointer, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            message: message.into(),
            help: None,
            at,
            also: None,
            rule: None,
            waived: None,
        }
    }

    /// A warning at `at`.
    pub fn warning(at: Pointer, message: impl Into<String>) -> Self {
        Finding { severity: Severity::Warning, ..Finding::error(at, message) }
    }

    /// Adds advice on what to do.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Names a second place the finding is about (the other side of a
    /// contradiction).
    pub fn also(mut self, at: Pointer) -> Self {
        self.also = Some(at);
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
