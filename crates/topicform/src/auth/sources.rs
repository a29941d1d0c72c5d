//! The token sources: one OAuth 2 request each.
//!
//! - Entra ID client secret and workload identity: client credentials grant
//!   at `{authority}/{tenant}/oauth2/v2.0/token`, with `client_secret` or with
//!   `client_assertion` = the federated token file, read anew at every fetch
//!   (the kubelet rotates it).
//! - Managed identity: the IMDS endpoint (`GET .../metadata/identity/oauth2/token`
//!   with `Metadata: true`), which takes a resource, not a scope.
//! - Azure CLI: `az account get-access-token`, for developer laptops.
//! - Generic OIDC: client credentials at any token endpoint.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing::Instrument;

use super::{
    endpoint_url, kind_name, AccessToken, AzureIdentity, AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
    AZURE_FEDERATED_TOKEN_FILE, AZURE_IMDS_HOST, AZURE_TENANT_ID, DEFAULT_AUTHORITY_HOST,
};
use crate::secret::{self, SecretString};
use crate::telemetry::request::HttpCall;
use crate::{Error, Result};
use topicform_core::spec::model::{AzureCredentialKind, OAuthBearer, SecretRef};

const IMDS_DEFAULT: &str = "http://169.254.169.254";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Where a [`super::Credential`] gets its tokens.
pub enum Source {
    /// App registration with a client secret (Entra ID).
    ClientSecret {
        /// `{authority}/{tenant}/oauth2/v2.0/token`.
        token_url: reqwest::Url,
        /// Application (client) id.
        client_id: String,
        /// The secret, read when the credential was built.
        secret: SecretString,
    },
    /// AKS workload identity: a federated Kubernetes token as client assertion.
    WorkloadIdentity {
        /// `{authority}/{tenant}/oauth2/v2.0/token`.
        token_url: reqwest::Url,
        /// Client id of the user-assigned identity / app.
        client_id: String,
        /// The projected service-account token, re-read at every fetch.
        token_file: PathBuf,
    },
    /// Managed identity through IMDS.
    ManagedIdentity {
        /// The IMDS token URL.
        endpoint: reqwest::Url,
        /// A user-assigned identity's client id; `None` for system-assigned.
        client_id: Option<String>,
    },
    /// The developer's `az login`.
    AzureCli {
        /// Tenant to ask for, when set.
        tenant_id: Option<String>,
    },
    /// Any OIDC provider's client credentials grant.
    Oidc {
        /// The token endpoint.
        token_url: reqwest::Url,
        /// Client id.
        client_id: String,
        /// Client secret, read when the credential was built.
        secret: SecretString,
    },
}

impl Source {
    /// The kind of credential, for traces: no id, no path, no URL.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Source::ClientSecret { .. } => "clientSecret",
            Source::WorkloadIdentity { .. } => "workloadIdentity",
            Source::ManagedIdentity { .. } => "managedIdentity",
            Source::AzureCli { .. } => "azureCli",
            Source::Oidc { .. } => "oidc",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::ClientSecret { token_url, client_id, .. } => {
                write!(f, "Entra ID client secret (client {client_id}, {token_url})")
            }
            Source::WorkloadIdentity { token_url, client_id, token_file } => write!(
                f,
                "Entra ID workload identity (client {client_id}, token file {}, {token_url})",
                token_file.display()
            ),
            Source::ManagedIdentity { endpoint, client_id: Some(id) } => {
                write!(f, "managed identity (client {id}, {endpoint})")
            }
            Source::ManagedIdentity { endpoint, client_id: None } => {
                write!(f, "system-assigned managed identity ({endpoint})")
            }
            Source::AzureCli { .. } => f.write_str("Azure CLI (az account get-access-token)"),
            Source::Oidc { token_url, client_id, .. } => {
                write!(f, "OIDC client credentials (client {client_id}, {token_url})")
            }
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn missing(what: &str, kind: &str, help: &str) -> Error {
    Error::Token {
        source_name: format!("credential `{kind}`"),
        message: format!("{what} is not set"),
        help: help.into(),
    }
}

impl Source {
    /// An Entra ID source of `kind`; ids from `azure`, else `AZURE_*`.
    pub fn azure(kind: AzureCredentialKind, azure: &AzureIdentity) -> Result<Source> {
        let name = kind_name(kind);
        let client_id = azure.client_id.clone().or_else(|| env_var(AZURE_CLIENT_ID));
        let tenant_id = azure.tenant_id.clone().or_else(|| env_var(AZURE_TENANT_ID));
        let need_client = || {
            client_id.clone().ok_or_else(|| {
                missing(
                    "the client id",
                    name,
                    "set clientId in the spec or AZURE_CLIENT_ID (workload identity injects it)",
                )
            })
        };
        match kind {
            AzureCredentialKind::ClientSecret => {
                let reference = azure.client_secret.clone().unwrap_or(SecretRef::Env(AZURE_CLIENT_SECRET.into()));
                Ok(Source::ClientSecret {
                    token_url: entra_token_url(azure, tenant_id.as_deref(), name)?,
                    client_id: need_client()?,
                    secret: secret::read(&reference)?,
                })
            }
            AzureCredentialKind::WorkloadIdentity => {
                let token_file = env_var(AZURE_FEDERATED_TOKEN_FILE).ok_or_else(|| {
                    missing(
                        AZURE_FEDERATED_TOKEN_FILE,
                        name,
                        "run in a pod with the label azure.workload.identity/use: \"true\" and a ServiceAccount annotated with azure.workload.identity/client-id",
                    )
                })?;
                Ok(Source::WorkloadIdentity {
                    token_url: entra_token_url(azure, tenant_id.as_deref(), name)?,
                    client_id: need_client()?,
                    token_file: token_file.into(),
                })
            }
            AzureCredentialKind::ManagedIdentity => {
                let base = env_var(AZURE_IMDS_HOST).unwrap_or_else(|| IMDS_DEFAULT.into());
                let field = if base == IMDS_DEFAULT { "the IMDS endpoint" } else { AZURE_IMDS_HOST };
                let endpoint = imds_url(&base, field)?;
                Ok(Source::ManagedIdentity { endpoint, client_id })
            }
            AzureCredentialKind::AzureCli => Ok(Source::AzureCli { tenant_id }),
        }
    }

    /// What the environment offers, in the order the Azure SDKs try it:
    /// workload identity, client secret, managed identity.
    pub(crate) fn from_azure_env(azure: &AzureIdentity) -> Result<Source> {
        let kind = if env_var(AZURE_FEDERATED_TOKEN_FILE).is_some() {
            AzureCredentialKind::WorkloadIdentity
        } else if azure.client_secret.is_some() || env_var(AZURE_CLIENT_SECRET).is_some() {
            AzureCredentialKind::ClientSecret
        } else {
            AzureCredentialKind::ManagedIdentity
        };
        Source::azure(kind, azure)
    }

    /// The source a `sasl.oauth` block describes: a generic OIDC token
    /// endpoint, or an Entra ID credential.
    pub(crate) fn from_oauth_block(oauth: &OAuthBearer) -> Result<Source> {
        match (&oauth.token_endpoint, oauth.credential) {
            (Some(url), _) => Ok(Source::Oidc {
                token_url: endpoint_url(url, "sasl.oauth.tokenEndpoint")?,
                client_id: oauth.client_id.clone().ok_or_else(|| {
                    missing("clientId", "oidc", "set sasl.oauth.clientId next to tokenEndpoint")
                })?,
                secret: secret::read(oauth.client_secret.as_ref().ok_or_else(|| {
                    missing("clientSecret", "oidc", "set sasl.oauth.clientSecret: { env: NAME } next to tokenEndpoint")
                })?)?,
            }),
            (None, Some(kind)) => Source::azure(
                kind,
                &AzureIdentity {
                    tenant_id: oauth.tenant_id.clone(),
                    client_id: oauth.client_id.clone(),
                    client_secret: oauth.client_secret.clone(),
                    authority_host: oauth.authority_host.clone(),
                },
            ),
            (None, None) => Err(Error::Token {
                source_name: "sasl.oauth".into(),
                message: "names neither a tokenEndpoint nor an Entra ID credential".into(),
                help: "set sasl.oauth.tokenEndpoint (OIDC) or sasl.oauth.credential (workloadIdentity, managedIdentity, clientSecret, azureCli)".into(),
            }),
        }
    }

    /// A new token for `scope`.
    pub(crate) async fn fetch(&self, http: &reqwest::Client, scope: &str) -> Result<AccessToken> {
        let fallback_subject = match self {
            Source::ClientSecret { client_id, .. }
            | Source::WorkloadIdentity { client_id, .. }
            | Source::Oidc { client_id, .. } => client_id.clone(),
            Source::ManagedIdentity { client_id, .. } => client_id.clone().unwrap_or_else(|| "managed-identity".into()),
            Source::AzureCli { .. } => "azure-cli".into(),
        };
        let body = match self {
            Source::ClientSecret { token_url, client_id, secret } => {
                let form = client_credentials(client_id, scope, &[("client_secret", secret.expose())]);
                self.post(http, token_url, &form).await?
            }
            Source::WorkloadIdentity { token_url, client_id, token_file } => {
                let assertion = std::fs::read_to_string(token_file).map_err(|e| Error::Token {
                    source_name: self.to_string(),
                    message: format!("cannot read the federated token file {}: {e}", token_file.display()),
                    help: "the workload identity webhook mounts it; check the pod's label and ServiceAccount".into(),
                })?;
                // A secret like any other: remembered, so no relayed error shows it.
                let assertion = SecretString::new(assertion.trim().to_owned());
                let form = client_credentials(
                    client_id,
                    scope,
                    &[("client_assertion_type", JWT_BEARER), ("client_assertion", assertion.expose())],
                );
                self.post(http, token_url, &form).await?
            }
            Source::Oidc { token_url, client_id, secret } => {
                let form = client_credentials(client_id, scope, &[("client_secret", secret.expose())]);
                self.post(http, token_url, &form).await?
            }
            Source::ManagedIdentity { endpoint, client_id } => self.imds(http, endpoint, client_id, scope).await?,
            Source::AzureCli { tenant_id } => self.azure_cli(tenant_id.as_deref(), scope).await?,
        };
        self.parse_token(&body, fallback_subject)
    }

    async fn post(&self, http: &reqwest::Client, url: &reqwest::Url, form: &[(&str, &str)]) -> Result<Value> {
        self.send(http.post(url.clone()).form(form), "POST", url).await
    }

    /// Sends a token request as a span of its own (method, host, status;
    /// never the form, which holds the secret or the assertion).
    async fn send(&self, request: reqwest::RequestBuilder, method: &str, url: &reqwest::Url) -> Result<Value> {
        let call = HttpCall::start("entra", method, url);
        match request.send().instrument(call.span().clone()).await {
            Ok(response) => {
                call.finish(Some(response.status().as_u16()), None);
                self.read_json(response).await
            }
            Err(e) => {
                let error = self.transport_error(url, &e);
                call.finish(None, Some(&error.to_string()));
                Err(error)
            }
        }
    }

    async fn imds(
        &self,
        http: &reqwest::Client,
        endpoint: &reqwest::Url,
        client_id: &Option<String>,
        scope: &str,
    ) -> Result<Value> {
        // IMDS speaks resources (v1 audiences), not v2 scopes.
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let mut query = vec![("api-version", "2018-02-01"), ("resource", resource)];
        if let Some(id) = client_id {
            query.push(("client_id", id));
        }
        let request =
            http.get(endpoint.clone()).query(&query).header("Metadata", "true").timeout(Duration::from_secs(10));
        self.send(request, "GET", endpoint).await
    }

    async fn azure_cli(&self, tenant_id: Option<&str>, scope: &str) -> Result<Value> {
        let mut cmd = tokio::process::Command::new("az");
        // A caller's timeout drops this future: take `az` down with it.
        cmd.kill_on_drop(true);
        cmd.args(["account", "get-access-token", "--output", "json", "--scope", scope]);
        if let Some(t) = tenant_id {
            cmd.args(["--tenant", t]);
        }
        let out = cmd.output().await.map_err(|e| Error::Token {
            source_name: self.to_string(),
            message: format!("cannot run `az`: {e}"),
            help: "install the Azure CLI and run `az login`, or choose another credential".into(),
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Token {
                source_name: self.to_string(),
                message: first_line(stderr.trim()).to_owned(),
                help: "run `az login` (with --tenant if needed) and try again".into(),
            });
        }
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| Error::Token {
            source_name: self.to_string(),
            message: format!("unexpected output of `az account get-access-token`: {e}"),
            help: "update the Azure CLI".into(),
        })?;
        // The CLI names the fields differently from the token endpoint.
        Ok(serde_json::json!({
            "access_token": v.get("accessToken").cloned().unwrap_or(Value::Null),
            "expires_on": v.get("expires_on").cloned().unwrap_or(Value::Null),
        }))
    }

    async fn read_json(&self, response: reqwest::Response) -> Result<Value> {
        let status = response.status();
        let url = response.url().clone();
        let text = response.text().await.map_err(|e| self.transport_error(&url, &e))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let code = body.get("error").and_then(Value::as_str).unwrap_or("");
        let description = body.get("error_description").and_then(Value::as_str).unwrap_or("");
        let detail = match (code, description) {
            ("", "") => format!("HTTP {status}"),
            (c, "") => format!("HTTP {status}: {c}"),
            (c, d) => format!("HTTP {status}: {c}: {}", first_sentence(d)),
        };
        Err(Error::Token {
            source_name: self.to_string(),
            message: format!("the token endpoint refused: {detail}"),
            help: token_error_help(code, description).into(),
        })
    }

    fn parse_token(&self, body: &Value, fallback_subject: String) -> Result<AccessToken> {
        let bad = |why: &str| Error::Token {
            source_name: self.to_string(),
            message: format!("the token response {why}"),
            help: "the endpoint does not speak OAuth 2 client credentials as expected; check the URL".into(),
        };
        let token = body.get("access_token").and_then(Value::as_str).ok_or_else(|| bad("has no access_token"))?;
        let now = SystemTime::now();
        let expires_at = if let Some(secs) = number(body.get("expires_on")) {
            UNIX_EPOCH + Duration::from_secs(secs)
        } else if let Some(secs) = number(body.get("expires_in")) {
            now + Duration::from_secs(secs)
        } else if let Some(exp) = jwt_claim(token, "exp").and_then(|v| v.as_u64()) {
            UNIX_EPOCH + Duration::from_secs(exp)
        } else {
            return Err(bad("says neither expires_in nor expires_on"));
        };
        let subject = jwt_claim(token, "sub").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or(fallback_subject);
        Ok(AccessToken {
            token: SecretString::new(token.to_owned()),
            expires_at,
            subject,
            lifetime: expires_at.duration_since(now).unwrap_or_default(),
        })
    }

    fn transport_error(&self, url: &reqwest::Url, e: &reqwest::Error) -> Error {
        let mut message = format!("cannot reach {}", without_query(url));
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut last = e.to_string();
        while let Some(s) = source {
            last = s.to_string();
            source = s.source();
        }
        message.push_str(": ");
        message.push_str(&last);
        Error::Token {
            source_name: self.to_string(),
            message,
            help: "check the authority host / endpoint, DNS and firewall (and tls.caFile for a TLS-inspecting proxy)"
                .into(),
        }
    }
}

fn client_credentials<'a>(client_id: &'a str, scope: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("grant_type", "client_credentials"), ("client_id", client_id)];
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    form.extend_from_slice(extra);
    form
}

fn entra_token_url(azure: &AzureIdentity, tenant_id: Option<&str>, kind: &str) -> Result<reqwest::Url> {
    let tenant = tenant_id.ok_or_else(|| {
        missing("the tenant id", kind, "set tenantId in the spec or AZURE_TENANT_ID (workload identity injects it)")
    })?;
    let (host, field) = match (&azure.authority_host, env_var(AZURE_AUTHORITY_HOST)) {
        (Some(h), _) => (h.clone(), "authorityHost"),
        (None, Some(h)) => (h, AZURE_AUTHORITY_HOST),
        (None, None) => (DEFAULT_AUTHORITY_HOST.to_owned(), "authorityHost"),
    };
    let base = endpoint_url(&host, field)?;
    let url = format!("{}/{tenant}/oauth2/v2.0/token", base.as_str().trim_end_matches('/'));
    endpoint_url(&url, field)
}

fn imds_url(base: &str, field: &str) -> Result<reqwest::Url> {
    let base = endpoint_url(base, field)?;
    endpoint_url(&format!("{}{IMDS_PATH}", base.as_str().trim_end_matches('/')), field)
}

/// A number that token endpoints send as JSON number or string.
fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A claim of a JWT's payload, without verifying it (only for scheduling
/// and naming; the broker and ARM verify).
pub(crate) fn jwt_claim(token: &str, claim: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let mut b64: String = payload
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !b64.len().is_multiple_of(4) {
        b64.push('=');
    }
    let bytes = openssl::base64::decode_block(&b64).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(claim).cloned()
}

fn without_query(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Entra descriptions carry trace ids and timestamps after the reason.
fn first_sentence(s: &str) -> &str {
    let line = first_line(s);
    line.split(" Trace ID:").next().unwrap_or(line).trim()
}

fn token_error_help(code: &str, description: &str) -> &'static str {
    let aadsts = |n: &str| description.contains(n);
    if aadsts("AADSTS70021") || aadsts("AADSTS700213") {
        "no federated identity credential matches this token: check the credential's issuer (the cluster's OIDC issuer) and subject system:serviceaccount:<namespace>:<serviceaccount>"
    } else if aadsts("AADSTS700024") {
        "the federated token is outside its validity: the kubelet refreshes the file; check the pod's clock and token projection"
    } else if aadsts("AADSTS7000215") || aadsts("AADSTS7000222") {
        "the client secret is wrong or expired: create a new one and update the secret reference"
    } else if aadsts("AADSTS700016") {
        "no application with this client id in the tenant: check clientId / AZURE_CLIENT_ID and tenantId / AZURE_TENANT_ID"
    } else if aadsts("AADSTS90002") {
        "the tenant does not exist: check tenantId / AZURE_TENANT_ID and the authority host"
    } else {
        match code {
            "invalid_client" => "the client id or its secret/assertion was not accepted: check both",
            "invalid_scope" => {
                "the scope is not known to the identity provider: check the namespace (Event Hubs) or sasl.oauth.scope"
            }
            "unauthorized_client" => "the client may not use the client credentials grant: check the app registration",
            "invalid_request" => "the token request was malformed: check tenant, client id and scope",
            _ => "check the credential's tenant, client id and secret or assertion",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_errors_keep_the_reason_not_the_trace() {
        assert_eq!(
            first_sentence("AADSTS7000215: Invalid client secret provided. Trace ID: abc Correlation ID: d"),
            "AADSTS7000215: Invalid client secret provided."
        );
        assert!(token_error_help("invalid_client", "AADSTS70021: No matching federated identity record found")
            .contains("federated identity credential"));
        assert!(token_error_help("invalid_scope", "").contains("scope"));
    }

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        assert_eq!(number(Some(&serde_json::json!(3599))), Some(3599));
        assert_eq!(number(Some(&serde_json::json!("3599"))), Some(3599));
        assert_eq!(number(Some(&serde_json::json!(null))), None);
    }

    #[test]
    fn jwt_claims_are_read_from_the_payload() {
        // {"alg":"none"}.{"sub":"svc","exp":1700000000}.
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMiLCJleHAiOjE3MDAwMDAwMDB9.";
        assert_eq!(jwt_claim(token, "sub"), Some(serde_json::json!("svc")));
        assert_eq!(jwt_claim(token, "exp"), Some(serde_json::json!(1_700_000_000u64)));
        assert_eq!(jwt_claim("opaque", "sub"), None);
    }
}
