//! Access tokens for SASL OAUTHBEARER (the Kafka endpoint) and for Azure
//! Resource Manager: Entra ID (client secret, workload identity, managed
//! identity, Azure CLI) and generic OIDC client credentials.
//!
//! OAuth 2 client credentials is one form POST, so the sources are written
//! here on `reqwest` rather than taken from `azure_identity` (see Cargo.toml
//! for why). A [`Credential`] caches one token per scope; clients that hold a
//! connection open for long (librdkafka) refresh through
//! [`Credential::fetch`] on their own schedule.

mod sources;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use tracing::Instrument;

use crate::secret::SecretString;
use crate::{Error, Result};
use topicform_core::spec::model::{AzureCredentialKind, EventHubsCluster, OAuthBearer, SecretRef};

pub(crate) use sources::Source;

/// Scope of an Azure Resource Manager token.
pub(crate) const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// Public-cloud Entra ID authority.
pub(crate) const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// Variables AKS workload identity injects (DESIGN section 6).
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// Tenant of the identity.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// Projected service-account token: the client assertion.
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// Entra ID authority (sovereign clouds, test servers).
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// Client secret of an app registration (`credential: clientSecret`).
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// Base URL of the managed-identity (IMDS) endpoint, as the Azure SDKs read it.
pub(crate) const AZURE_IMDS_HOST: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";

/// The OAUTHBEARER scope of an Event Hubs namespace.
pub(crate) fn event_hubs_scope(namespace: &str) -> String {
    format!("https://{namespace}.servicebus.windows.net/.default")
}

/// A bearer token and when it expires.
#[derive(Clone)]
pub struct AccessToken {
    /// The token; only handed to librdkafka or an `Authorization` header.
    pub token: SecretString,
    /// Expiry as the token endpoint reported it.
    pub expires_at: SystemTime,
    /// The token's subject (`sub`), for librdkafka's principal name.
    pub subject: String,
    /// Lifetime when issued, for refresh schedules.
    pub lifetime: Duration,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken").field("expires_at", &self.expires_at).field("subject", &self.subject).finish()
    }
}

impl AccessToken {
    /// A token whose expiry is not known, taken as an hour from now (the
    /// usual Entra ID lifetime): for tokens handed in from outside.
    pub fn valid_for_an_hour(token: SecretString) -> AccessToken {
        let lifetime = Duration::from_secs(3600);
        AccessToken { token, expires_at: SystemTime::now() + lifetime, subject: String::new(), lifetime }
    }

    /// Time left before expiry (zero when expired).
    pub(crate) fn remaining(&self) -> Duration {
        self.expires_at.duration_since(SystemTime::now()).unwrap_or_default()
    }
}

/// Where tokens come from, with a per-scope cache. Cheap to clone.
#[derive(Clone)]
pub struct Credential {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, AccessToken>>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({})", self.inner.source)
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.source.fmt(f)
    }
}

impl Credential {
    /// A credential for `source`, with its own HTTP client (so each runtime
    /// that uses it owns its connections).
    pub fn new(source: Source, extra_ca: Option<&str>) -> Result<Credential> {
        // No connection pool: tokens are fetched minutes apart, and from the
        // runtimes of several clients (token sessions), where a pooled
        // connection of a runtime that is gone would hang the next request.
        let http = build(client_builder(extra_ca)?.pool_max_idle_per_host(0))?;
        Ok(Credential { inner: Arc::new(Inner { source, http, cache: Mutex::new(HashMap::new()) }) })
    }

    /// How topicform gets its Azure Resource Manager token: the spec's
    /// `management:` block, defaulting to what the environment offers.
    pub(crate) fn for_management(cluster: &EventHubsCluster) -> Result<Credential> {
        let m = cluster.management.as_ref();
        let azure = AzureIdentity {
            tenant_id: m.and_then(|m| m.tenant_id.clone()),
            client_id: m.and_then(|m| m.client_id.clone()),
            client_secret: m.and_then(|m| m.client_secret.clone()),
            authority_host: cluster.authority_host.clone(),
        };
        let source = match m.map(|m| m.credential) {
            Some(kind) => Source::azure(kind, &azure)?,
            None => Source::from_azure_env(&azure)?,
        };
        Credential::new(source, cluster.tls.as_ref().and_then(|t| t.ca_file.as_deref()))
    }

    /// How a service (and `check`) authenticates to an Event Hubs Kafka
    /// endpoint with OAUTHBEARER: its own identity from `AZURE_*` variables.
    pub(crate) fn for_event_hubs_kafka(cluster: &EventHubsCluster) -> Result<Credential> {
        let azure = AzureIdentity { authority_host: cluster.authority_host.clone(), ..AzureIdentity::default() };
        let source = match cluster.kafka.as_ref().and_then(|k| k.credential) {
            Some(kind) => Source::azure(kind, &azure)?,
            None => Source::from_azure_env(&azure)?,
        };
        Credential::new(source, cluster.tls.as_ref().and_then(|t| t.ca_file.as_deref()))
    }

    /// The token source of a `type: kafka` cluster's `sasl.oauth` block.
    pub(crate) fn for_kafka_oauth(oauth: &OAuthBearer, extra_ca: Option<&str>) -> Result<Credential> {
        Credential::new(Source::from_oauth_block(oauth)?, extra_ca)
    }

    /// A service's identity as its `AZURE_*` variables describe it (the
    /// pod's view, for `check --from-env`).
    pub(crate) fn from_azure_env(extra_ca: Option<&str>) -> Result<Credential> {
        Credential::new(Source::from_azure_env(&AzureIdentity::default())?, extra_ca)
    }

    /// A token for `scope`, from the cache while it has at least five
    /// minutes (or half its lifetime, for short-lived tokens) left.
    pub async fn token(&self, scope: &str) -> Result<AccessToken> {
        if let Some(token) = self.cached(scope) {
            return Ok(token);
        }
        let token = self.fetch(scope).await?;
        self.inner.cache.lock().expect("token cache").insert(scope.to_owned(), token.clone());
        Ok(token)
    }

    fn cached(&self, scope: &str) -> Option<AccessToken> {
        let cache = self.inner.cache.lock().expect("token cache");
        let token = cache.get(scope)?;
        (token.remaining() > Duration::from_secs(300).min(token.lifetime / 2)).then(|| token.clone())
    }

    /// A new token for `scope`, bypassing the cache.
    pub(crate) async fn fetch(&self, scope: &str) -> Result<AccessToken> {
        // The span says which credential and audience, never the token.
        let span = tracing::info_span!(
            "token",
            otel.name = "token",
            topicform.credential = self.inner.source.kind(),
            topicform.token.scope = scope,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let result = self.inner.source.fetch(&self.inner.http, scope).instrument(span.clone()).await;
        if let Err(e) = &result {
            crate::telemetry::mark_failed(&span, e);
        }
        result
    }
}

/// Anything that hands out bearer tokens for one audience: a
/// [`ScopedCredential`] in production, a fixed or minted token in tests.
/// Both OAUTHBEARER token sessions and the ARM client ask through it.
pub trait TokenProvider: Send + Sync {
    /// A token, from a cache while it is valid.
    fn token(&self) -> BoxFuture<'_, Result<AccessToken>>;

    /// A new token, bypassing any cache: for refreshes, and once when a
    /// server answers 401 (a token revoked or expired early, clock skew).
    fn fresh_token(&self) -> BoxFuture<'_, Result<AccessToken>> {
        self.token()
    }
}

/// A credential and the scope its tokens are for: "a token for this scope",
/// the one shape every token consumer takes.
#[derive(Debug, Clone)]
pub struct ScopedCredential {
    pub credential: Credential,
    /// E.g. `https://<ns>.servicebus.windows.net/.default`.
    pub scope: String,
}

impl ScopedCredential {
    pub fn new(credential: Credential, scope: impl Into<String>) -> ScopedCredential {
        ScopedCredential { credential, scope: scope.into() }
    }
}

impl fmt::Display for ScopedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.credential.fmt(f)
    }
}

impl TokenProvider for ScopedCredential {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken>> {
        Box::pin(self.credential.token(&self.scope))
    }

    fn fresh_token(&self) -> BoxFuture<'_, Result<AccessToken>> {
        Box::pin(self.credential.fetch(&self.scope))
    }
}

/// Entra ID settings that may come from the spec, else from `AZURE_*`.
#[derive(Debug, Clone, Default)]
pub struct AzureIdentity {
    /// Tenant (else `AZURE_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// Client id (else `AZURE_CLIENT_ID`).
    pub client_id: Option<String>,
    /// Client secret reference (else `{ env: AZURE_CLIENT_SECRET }`).
    pub client_secret: Option<SecretRef>,
    /// Authority host (else `AZURE_AUTHORITY_HOST`, else the public cloud).
    pub authority_host: Option<String>,
}

/// The HTTP client for token endpoints and ARM: OpenSSL TLS with the system
/// store plus `extra_ca` (a PEM file) when given, timeouts, a user agent
/// naming topicform.
pub(crate) fn http_client_with_ca(extra_ca: Option<&str>) -> Result<reqwest::Client> {
    build(client_builder(extra_ca)?)
}

fn client_builder(extra_ca: Option<&str>) -> Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("topicform/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60));
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).map_err(|e| Error::Token {
            source_name: "TLS settings".into(),
            message: format!("cannot read the CA file {path}: {e}"),
            help: "point tls.caFile at a readable PEM file".into(),
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Token {
            source_name: "TLS settings".into(),
            message: format!("the CA file {path} is not PEM: {e}"),
            help: "point tls.caFile at a PEM file of CA certificates".into(),
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}

fn build(builder: reqwest::ClientBuilder) -> Result<reqwest::Client> {
    builder.build().map_err(|e| Error::Token {
        source_name: "HTTP client".into(),
        message: e.to_string(),
        help: "check the system's OpenSSL installation".into(),
    })
}

/// Parses an endpoint URL from the spec or the environment: `https://`, or
/// `http://` for loopback addresses only (local test servers), so a token
/// never crosses a network in clear.
pub(crate) fn endpoint_url(value: &str, field: &str) -> Result<reqwest::Url> {
    let invalid = |why: String| Error::Token {
        source_name: field.to_owned(),
        message: format!("`{value}` {why}"),
        help: format!("set {field} to an https:// URL (http:// is accepted for 127.0.0.1, ::1 and localhost only)"),
    };
    let url = reqwest::Url::parse(value.trim()).map_err(|e| invalid(format!("is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(invalid("uses http:// for a non-loopback host".into())),
        other => Err(invalid(format!("uses the scheme `{other}`"))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The Entra ID credential kinds as written in the spec.
pub(crate) fn kind_name(kind: AzureCredentialKind) -> &'static str {
    match kind {
        AzureCredentialKind::WorkloadIdentity => "workloadIdentity",
        AzureCredentialKind::ManagedIdentity => "managedIdentity",
        AzureCredentialKind::ClientSecret => "clientSecret",
        AzureCredentialKind::AzureCli => "azureCli",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        assert!(endpoint_url("https://login.microsoftonline.com", "authorityHost").is_ok());
        assert!(endpoint_url("http://127.0.0.1:8080", "authorityHost").is_ok());
        assert!(endpoint_url("http://localhost:1", "armEndpoint").is_ok());
        assert!(endpoint_url("http://[::1]:1", "armEndpoint").is_ok());
        let err = endpoint_url("http://10.0.0.1", "armEndpoint").unwrap_err().to_string();
        assert!(err.contains("non-loopback"), "{err}");
        assert!(endpoint_url("ftp://x", "armEndpoint").is_err());
        assert!(endpoint_url("not a url", "armEndpoint").is_err());
    }

    #[test]
    fn event_hubs_scope_is_the_namespace_host() {
        assert_eq!(event_hubs_scope("etelios-prod"), "https://etelios-prod.servicebus.windows.net/.default");
    }

    #[test]
    fn tokens_never_print() {
        let t = AccessToken {
            token: SecretString::new("eyJsecret".into()),
            expires_at: SystemTime::now(),
            subject: "s".into(),
            lifetime: Duration::ZERO,
        };
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }
}
