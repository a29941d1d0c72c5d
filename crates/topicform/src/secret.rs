//! Secret values: read from `{ env: NAME }` / `{ file: PATH }` references at
//! the last moment and wrapped so that `Debug` and `Display` never show them.
//!
//! Wrapping is not enough where a server echoes a secret back (an identity
//! provider's `error_description` quoting the client secret, an ARM 401
//! quoting the bearer token): every value wrapped here is also remembered,
//! and [`scrub`] replaces each remembered value in text before it is shown or
//! logged. The CLI passes everything it prints through it.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::RwLock;

use crate::{Error, Result};
use topicform_core::spec::model::SecretRef;

/// A secret value. Printing it shows `[redacted]`; only [`expose`](Self::expose)
/// gives the value, for handing it to librdkafka or an explicit reveal.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a value and remembers it for [`scrub`].
    pub fn new(value: String) -> Self {
        remember(&value);
        SecretString(value)
    }

    /// Wraps a value everyone knows (Event Hubs' PLAIN user name
    /// `$ConnectionString`): typed like a secret, never scrubbed from text.
    pub(crate) fn well_known(value: &'static str) -> Self {
        SecretString(value.to_owned())
    }

    /// Wraps a value that is kept out of logs but is no secret to scrub
    /// from text: a SASL user name (`orders` must not turn every
    /// `orders.v1` in a report into `***.v1`).
    pub(crate) fn not_scrubbed(value: String) -> Self {
        SecretString(value)
    }

    /// The value itself. Call sites are the only places a secret leaves.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Reads a secret reference. The error names the reference, never a value.
/// A trailing newline (as `kubectl create secret --from-file` leaves) is
/// dropped.
pub fn read(secret: &SecretRef) -> Result<SecretString> {
    read_value(secret).map(SecretString::new)
}

/// Reads a reference to a value that is not scrubbed from output (a user
/// name): see [`SecretString::not_scrubbed`].
pub fn read_not_scrubbed(secret: &SecretRef) -> Result<SecretString> {
    read_value(secret).map(SecretString::not_scrubbed)
}

fn read_value(secret: &SecretRef) -> Result<String> {
    let value = match secret {
        SecretRef::Env(name) => std::env::var(name).map_err(|_| Error::Secret {
            reference: secret.to_string(),
            reason: "the environment variable is not set".into(),
        })?,
        SecretRef::File(path) => std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| Error::Secret { reference: secret.to_string(), reason: e.to_string() })?,
    };
    Ok(value)
}

/// Values shorter than this are not scrubbed: they would blank out ordinary
/// words of a message, and no credential worth the name is that short.
pub const SHORTEST_SCRUBBED: usize = 6;

/// What replaces a secret in scrubbed text.
pub const MASK: &str = "***";

/// Every secret value this process has held, in the forms a server may
/// echo: as it is, form-encoded, JSON-escaped, each line of a multi-line
/// value (a PEM key), and the key inside an Event Hubs connection string.
static KNOWN: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

fn remember(value: &str) {
    let mut forms: Vec<String> = vec![value.to_owned()];
    forms.push(form_urlencoded::byte_serialize(value.as_bytes()).collect());
    let json = serde_json::to_string(value).unwrap_or_default();
    forms.push(json.trim_matches('"').to_owned());
    forms.extend(value.lines().map(|l| l.trim().to_owned()).filter(|l| !l.starts_with("-----")));
    forms.extend(value.split(';').filter_map(|part| part.trim().strip_prefix("SharedAccessKey=")).map(str::to_owned));
    let mut known = KNOWN.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    known.extend(forms.into_iter().filter(|f| f.chars().count() >= SHORTEST_SCRUBBED));
}

/// `text` with every secret value this process has held replaced by `***`,
/// longest first (so a secret containing another is masked whole).
pub fn scrub(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !known.iter().any(|secret| text.contains(secret.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut by_length: Vec<&String> = known.iter().collect();
    by_length.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in by_length {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = SecretString::new("hunter2".into());
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn every_form_of_a_held_secret_is_scrubbed_from_relayed_text() {
        SecretString::new("s3cr+t/value=".into());
        SecretString::new(
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=AbCdEf123=".into(),
        );
        SecretString::new(
            // A PEM-shaped value made up here: markers and one made-up line.
            format!("-----BEGIN {0} KEY-----\nmade-up-key-line-{1}\n-----END {0} KEY-----", "TEST", std::process::id()),
        );
        SecretString::new("abcde".into());
        let relayed = format!("AADSTS7000215: Invalid client secret provided: 's3cr+t/value='. Request body: client_secret=s3cr%2Bt%2Fvalue%3D; key AbCdEf123=; line made-up-key-line-{}; abcde stays", std::process::id());
        assert_eq!(
            scrub(&relayed),
            "AADSTS7000215: Invalid client secret provided: '***'. Request body: client_secret=***; key ***; line ***; abcde stays"
        );
        assert!(matches!(scrub("nothing secret here"), Cow::Borrowed(_)));
    }

    #[test]
    fn read_errors_name_the_reference_only() {
        let err = read(&SecretRef::Env("TOPICFORM_TEST_SURELY_UNSET".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read secret { env: TOPICFORM_TEST_SURELY_UNSET }: the environment variable is not set"
        );
    }
}
