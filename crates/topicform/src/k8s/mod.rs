//! Kubernetes, when topicform runs in it or next to it: the client (a pod's
//! service account or a kubeconfig), the status object and the Events of
//! each run ([`status`]), the topics services contribute through labelled
//! ConfigMaps ([`contributions`]). The Lease lock is in [`crate::lock::lease`].
//!
//! Outside Kubernetes nothing here runs: it is reached only through
//! `--lock kubernetes…`, `--status kubernetes…`, or `auto` inside a pod.

pub mod contributions;
pub mod status;

use std::path::Path;
use std::time::Duration;

use crate::{Error, Result};

/// Mounted into every pod whose service account token is automounted.
pub const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Whether this process runs in a Kubernetes pod that may talk to its API
/// server: the address Kubernetes injects and a service account token.
pub fn in_pod() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && Path::new(SERVICE_ACCOUNT_TOKEN).exists()
}

/// A connected client and the namespace this run works in.
#[derive(Clone)]
pub struct Kube {
    pub client: kube::Client,
    pub namespace: String,
}

impl Kube {
    /// Connects through a kubeconfig (`KUBECONFIG`, `~/.kube/config`) or,
    /// without one, the pod's service account. `namespace` overrides the
    /// default: the kubeconfig context's, or the pod's own.
    pub async fn connect(namespace: Option<&str>, timeout: Duration) -> Result<Kube> {
        let mut config = kube::Config::infer().await.map_err(|e| Error::Kubernetes {
            what: "find a Kubernetes API server".into(),
            cause: e.to_string(),
            fix: "run in a pod with a service account, or point KUBECONFIG at a kubeconfig; with no Kubernetes nearby pass --lock none (and --status none)".into(),
            forbidden: true,
        })?;
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        let namespace = namespace.map_or_else(|| config.default_namespace.clone(), str::to_owned);
        let client = kube::Client::try_from(config).map_err(|e| Error::Kubernetes {
            what: "set up the Kubernetes client".into(),
            cause: e.to_string(),
            fix: "check the kubeconfig's cluster and user entries".into(),
            forbidden: false,
        })?;
        Ok(Kube { client, namespace })
    }
}

/// Who this process is to other runs: the pod (or host), the process id,
/// and a part made once per process, so two containers that share a host
/// name and both run as PID 1 are still two holders.
pub fn holder_identity() -> String {
    static IDENTITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            use sha2::Digest;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let local = 0u8;
            let seed = format!("{}/{}/{}/{:p}", host(), std::process::id(), now.as_nanos(), &local);
            let unique = hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..4]);
            format!("topicform@{}/{}-{unique}", host(), std::process::id())
        })
        .clone()
}

/// The pod's name in a pod (Kubernetes sets `HOSTNAME` to it), else the
/// machine's host name.
pub fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// A failed API call as an error that says what was tried and, for the
/// answers an operator can fix (403, 404 namespace), how.
pub(crate) fn api_error(what: String, namespace: &str, rbac: &str, e: kube::Error) -> Error {
    let (cause, fix) = match &e {
        kube::Error::Api(status) if status.code == 403 => (
            status.message.clone(),
            format!("grant the service account {rbac} in namespace `{namespace}` (the topicform chart's Role does)"),
        ),
        kube::Error::Api(status) if status.code == 404 && status.message.contains("namespaces") => {
            (status.message.clone(), format!("create namespace `{namespace}` or name another one"))
        }
        kube::Error::Api(status) => {
            (format!("{} ({})", status.message, status.code), "run again; if it persists, check the API server".into())
        }
        other => (other.to_string(), "check that the API server is reachable from here".into()),
    };
    let forbidden = is_status(&e, 403);
    Error::Kubernetes { what, cause: crate::secret::scrub(&cause).into_owned(), fix, forbidden }
}

/// A time as the API server writes it (RFC 3339, UTC, whole seconds), so
/// that two compare as text.
pub(crate) fn rfc3339(t: k8s_openapi::jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whether `e` is the API server's answer `code`.
pub(crate) fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == code)
}

/// A name for a Kubernetes object derived from `id` (a Kafka cluster id,
/// an Event Hubs namespace): `prefix-<id>`, lowercased and with anything
/// else than `[a-z0-9-]` replaced; when that changed `id`, a short hash of
/// the exact id keeps two ids that differ only in case apart.
pub fn object_name(prefix: &str, id: &str) -> String {
    use sha2::Digest;
    let slug: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' }).collect();
    let slug = slug.trim_matches('-');
    let slug = &slug[..slug.len().min(200)];
    if slug == id {
        format!("{prefix}-{slug}")
    } else {
        let hash = hex::encode(&sha2::Sha256::digest(id.as_bytes())[..4]);
        format!("{prefix}-{slug}-{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_valid_and_keep_ids_that_differ_in_case_apart() {
        assert_eq!(object_name("topicform", "eventhubs-platform-prod"), "topicform-eventhubs-platform-prod");
        let a = object_name("topicform", "MkU3OEVBNTcwNTJENDM2Qk");
        let b = object_name("topicform", "mkU3OEVBNTcwNTJENDM2Qk");
        assert!(a.starts_with("topicform-mku3oevbntcwntjendm2qk-"), "{a}");
        assert_ne!(a, b);
        let odd = object_name("topicform", "127.0.0.1:9092,127.0.0.1:9093");
        assert!(odd.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{odd}");
        assert!(object_name("x", &"A".repeat(400)).len() <= 253);
    }
}
