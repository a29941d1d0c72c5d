//! Secret values: read from `{ env: NAME }` / `{ file: PATH }` references at
//! the last moment and wrapped so that `Debug` and `Display` never show them.

use std::fmt;

use crate::{Error, Result};
use topicform_core::spec::model::SecretRef;

/// A secret value. Printing it shows `[redacted]`; only [`expose`](Self::expose)
/// gives the value, for handing it to librdkafka or an explicit reveal.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a value.
    pub fn new(value: String) -> Self {
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
    let value = match secret {
        SecretRef::Env(name) => std::env::var(name).map_err(|_| Error::Secret {
            reference: secret.to_string(),
            reason: "the environment variable is not set".into(),
        })?,
        SecretRef::File(path) => std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| Error::Secret { reference: secret.to_string(), reason: e.to_string() })?,
    };
    Ok(SecretString(value))
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
    fn read_errors_name_the_reference_only() {
        let err = read(&SecretRef::Env("TOPICFORM_TEST_SURELY_UNSET".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read secret { env: TOPICFORM_TEST_SURELY_UNSET }: the environment variable is not set"
        );
    }
}
