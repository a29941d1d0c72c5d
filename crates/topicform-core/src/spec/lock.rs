//! How an apply makes sure it is the only one on its cluster: the words of
//! `apply --lock` and of an environment's `lock:`. Parsing only; the locks
//! themselves are the library's (`topicform::lock`, `topicform::k8s::lease`).

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// A Kubernetes namespace: an RFC 1123 label.
static NAMESPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").unwrap());
/// A Lease name: an RFC 1123 subdomain.
static LEASE_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$").unwrap());

/// One of `auto`, `none`, `kafka[:GROUP]`, `kubernetes[:NAMESPACE[/NAME]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockChoice {
    /// In a Kubernetes pod: the Lease in the pod's namespace. Elsewhere:
    /// the group coordinator on Kafka, none on Event Hubs (whose Kafka
    /// endpoint cannot hold the lock topic).
    Auto,
    /// No lock.
    None,
    /// The group coordinator of the cluster; `group` overrides the group name.
    Kafka { group: Option<String> },
    /// A `coordination.k8s.io/v1` Lease; the namespace defaults to the
    /// pod's or the kubeconfig context's, the name to one derived from the
    /// target cluster.
    Kubernetes { namespace: Option<String>, name: Option<String> },
}

impl LockChoice {
    /// The words accepted, for help texts and errors.
    pub const FORMS: &'static str =
        "`auto`, `none`, `kafka`, `kafka:GROUP`, `kubernetes`, `kubernetes:NAMESPACE` or `kubernetes:NAMESPACE/NAME`";
}

impl std::str::FromStr for LockChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "auto" => Ok(LockChoice::Auto),
            None if s == "none" => Ok(LockChoice::None),
            None if s == "kafka" => Ok(LockChoice::Kafka { group: None }),
            None if s == "kubernetes" => Ok(LockChoice::Kubernetes { namespace: None, name: None }),
            Some(("kafka", group)) if !group.is_empty() => Ok(LockChoice::Kafka { group: Some(group.to_owned()) }),
            Some(("kubernetes", place)) => parse_lease(place),
            _ => Err(format!("`{s}` is not a lock; use {}", LockChoice::FORMS)),
        }
    }
}

fn parse_lease(place: &str) -> Result<LockChoice, String> {
    let (namespace, name) = match place.split_once('/') {
        Some((namespace, name)) => (namespace, Some(name)),
        None => (place, None),
    };
    if !NAMESPACE.is_match(namespace) {
        return Err(format!(
            "`{namespace}` is not a Kubernetes namespace (lowercase letters, digits and `-`, at most 63)"
        ));
    }
    if let Some(name) = name {
        if !LEASE_NAME.is_match(name) {
            return Err(format!("`{name}` is not a Lease name (lowercase letters, digits, `-` and `.`, at most 253)"));
        }
    }
    Ok(LockChoice::Kubernetes { namespace: Some(namespace.to_owned()), name: name.map(str::to_owned) })
}

impl fmt::Display for LockChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockChoice::Auto => f.write_str("auto"),
            LockChoice::None => f.write_str("none"),
            LockChoice::Kafka { group: None } => f.write_str("kafka"),
            LockChoice::Kafka { group: Some(g) } => write!(f, "kafka:{g}"),
            LockChoice::Kubernetes { namespace: None, .. } => f.write_str("kubernetes"),
            LockChoice::Kubernetes { namespace: Some(ns), name: None } => write!(f, "kubernetes:{ns}"),
            LockChoice::Kubernetes { namespace: Some(ns), name: Some(n) } => write!(f, "kubernetes:{ns}/{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LockChoice;

    #[test]
    fn every_form_parses_and_prints_back() {
        for form in [
            "auto",
            "none",
            "kafka",
            "kafka:ops.lock",
            "kubernetes",
            "kubernetes:platform",
            "kubernetes:platform/topicform-prod",
        ] {
            let choice: LockChoice = form.parse().unwrap();
            assert_eq!(choice.to_string(), form);
        }
        assert_eq!(
            "kubernetes:ops/prod.lock".parse::<LockChoice>().unwrap(),
            LockChoice::Kubernetes { namespace: Some("ops".into()), name: Some("prod.lock".into()) }
        );
    }

    #[test]
    fn bad_forms_say_what_is_accepted() {
        let err = "zookeeper".parse::<LockChoice>().unwrap_err();
        assert!(err.contains("`zookeeper` is not a lock") && err.contains("kubernetes:NAMESPACE/NAME"), "{err}");
        let err = "kubernetes:Platform".parse::<LockChoice>().unwrap_err();
        assert!(err.contains("not a Kubernetes namespace"), "{err}");
        let err = "kubernetes:ops/Bad_Name".parse::<LockChoice>().unwrap_err();
        assert!(err.contains("not a Lease name"), "{err}");
        assert!("kubernetes:".parse::<LockChoice>().is_err());
        assert!("kafka:".parse::<LockChoice>().is_err());
    }
}
