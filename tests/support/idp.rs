//! A local identity provider that follows Entra ID's published v2.0
//! contract, for tests:
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials with
//!   `client_secret`, or with `client_assertion` (jwt-bearer) equal to the
//!   current content of the federated token file (workload identity);
//!   errors as Entra sends them (`error`, `error_description` with AADSTS codes).
//! - `GET /metadata/identity/oauth2/token`: the IMDS managed-identity
//!   endpoint (`Metadata: true`, `resource`, `api-version`).
//! - `GET /{tenant}/discovery/v2.0/keys` and the OpenID configuration.
//!
//! Tokens are RS256 JWTs with `iss` = `https://login.microsoftonline.com/{tenant}/v2.0`,
//! `aud` = the scope without `/.default`, `sub`, `tid`, `iat`, `nbf`, `exp`.
//! With the key of deploy/local/secure.sh the test broker verifies them.
//!
//! Every secret the provider is configured with, is shown or issues is
//! registered with the secret scan (secrets.rs): its client secret, every
//! federated token (client assertion), every client secret or assertion a
//! request presents (right or wrong) and every token it issues or mints.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};
use serde_json::{json, Value};

use crate::support::secrets;

// Both servers include the same file: arm.rs is also compiled alone (#[path]).
#[path = "http.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod http;
use http::{HttpServer, Request, Response};

/// The tenant of deploy/local/secure.sh's idp.env (used for generated keys too).
pub const TENANT: &str = "0b9a5a3c-7d2e-4f61-9c1d-2f1e8a7b6c5d";
/// The registered application (client credentials and workload identity).
pub const CLIENT_ID: &str = "5f1c2b7e-3a4d-4e8f-9b0a-1c2d3e4f5a6b";
/// Its client secret: made up for the tests, and scanned for in outputs.
pub const CLIENT_SECRET: &str = "idp-test-secret-Qx7vR2mN9pL4";
/// The user-assigned managed identity's client id.
pub const MANAGED_IDENTITY_CLIENT_ID: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
/// ARM's audience.
pub const ARM_AUDIENCE: &str = "https://management.azure.com";

/// What the provider does wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: valid tokens.
    None,
    /// Tokens that expired a minute before they were issued.
    Expired,
    /// Tokens for another audience.
    WrongAudience,
    /// Every token request is refused with an `error_description` that
    /// quotes the request body, client secret included (as some providers
    /// and proxies do): whatever topicform relays must be scrubbed.
    EchoRequest,
}

struct State {
    lifetime: Duration,
    fault: Fault,
    /// The client assertion accepted now (the federated token file's content).
    federated_token: String,
}

/// A running provider; stops when dropped.
pub struct Idp {
    /// `http://127.0.0.1:PORT`: the authority host.
    pub authority_host: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Client id of the app registration.
    pub client_id: String,
    /// Issuer of the tokens.
    pub issuer: String,
    /// The federated (Kubernetes service-account) token file.
    pub federated_token_file: PathBuf,
    state: Arc<Mutex<State>>,
    issued: Arc<AtomicUsize>,
    key: PKey<Private>,
    kid: String,
    server: Option<HttpServer>,
    _dir: tempfile::TempDir,
}

impl Idp {
    /// A provider with a key of its own (ARM tests: nothing outside the test
    /// verifies its tokens).
    pub fn start() -> Idp {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        Self::serve(key, "generated".into())
    }

    /// The provider whose key the secure test broker trusts (its
    /// idp-signing.key and idp.env in `dir`).
    pub fn start_for_broker(dir: &Path) -> Idp {
        let pem = std::fs::read(dir.join("idp-signing.key")).unwrap_or_else(|e| {
            panic!("{}/idp-signing.key: {e}; start the broker with deploy/local/secure.sh", dir.display())
        });
        let env = std::fs::read_to_string(dir.join("idp.env")).unwrap();
        let value = |k: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("{k} in idp.env"))
                .to_owned()
        };
        assert_eq!(value("IDP_TENANT"), TENANT, "idp.env and tests/support/idp.rs disagree on the tenant");
        Self::serve(PKey::private_key_from_pem(&pem).unwrap(), value("IDP_KID"))
    }

    fn serve(key: PKey<Private>, kid: String) -> Idp {
        secrets::register_as("the test identity provider's client secret (idp::CLIENT_SECRET)", CLIENT_SECRET);
        let dir = tempfile::tempdir().unwrap();
        let federated_token_file = dir.path().join("azure-identity-token");
        let first_assertion = format!("k8s-sa-token-{}", nanos());
        secrets::register_as("a federated token (client assertion) of the test identity provider", &first_assertion);
        std::fs::write(&federated_token_file, &first_assertion).unwrap();
        let state = Arc::new(Mutex::new(State {
            lifetime: Duration::from_secs(3600),
            fault: Fault::None,
            federated_token: first_assertion,
        }));
        let issued = Arc::new(AtomicUsize::new(0));
        let mut idp = Idp {
            authority_host: String::new(),
            tenant_id: TENANT.into(),
            client_id: CLIENT_ID.into(),
            issuer: format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            federated_token_file,
            state,
            issued,
            key,
            kid,
            server: None,
            _dir: dir,
        };
        let (state, issued, key, kid, issuer) =
            (idp.state.clone(), idp.issued.clone(), idp.key.clone(), idp.kid.clone(), idp.issuer.clone());
        let server = HttpServer::start("test identity provider", move |port| {
            let handler =
                Handler { state, issued, key, kid, issuer, authority_host: format!("http://127.0.0.1:{port}") };
            move |request: Request| handler.handle(request)
        });
        idp.authority_host = format!("http://127.0.0.1:{}", server.port);
        idp.server = Some(server);
        idp
    }

    /// Tokens issued so far (token and IMDS endpoints).
    pub fn tokens_issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// Lifetime of the tokens issued from now on.
    pub fn set_lifetime(&self, lifetime: Duration) {
        self.state.lock().unwrap().lifetime = lifetime;
    }

    /// Makes the provider misbehave (or behave again).
    pub fn set_fault(&self, fault: Fault) {
        self.state.lock().unwrap().fault = fault;
    }

    /// Rotates the federated token as the kubelet does: a new file content,
    /// and only the new one is accepted from now on.
    pub fn rotate_federated_token(&self) {
        let next = format!("k8s-sa-token-{}", nanos());
        secrets::register_as("a federated token (client assertion) of the test identity provider", &next);
        std::fs::write(&self.federated_token_file, &next).unwrap();
        self.state.lock().unwrap().federated_token = next;
    }

    /// `AZURE_*` variables for `credential: clientSecret`.
    pub fn client_secret_env(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_CLIENT_ID".into(), CLIENT_ID.into()),
            ("AZURE_TENANT_ID".into(), TENANT.into()),
            ("AZURE_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("AZURE_AUTHORITY_HOST".into(), self.authority_host.clone()),
        ]
    }

    /// The variables AKS workload identity injects into a pod.
    pub fn workload_identity_env(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_CLIENT_ID".into(), CLIENT_ID.into()),
            ("AZURE_TENANT_ID".into(), TENANT.into()),
            ("AZURE_FEDERATED_TOKEN_FILE".into(), self.federated_token_file.display().to_string()),
            ("AZURE_AUTHORITY_HOST".into(), self.authority_host.clone()),
        ]
    }

    /// Variables pointing a managed-identity credential at this IMDS.
    pub fn managed_identity_env(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_CLIENT_ID".into(), MANAGED_IDENTITY_CLIENT_ID.into()),
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST".into(), self.authority_host.clone()),
        ]
    }

    /// A token minted directly (for servers' negative tests).
    pub fn mint(&self, audience: &str, lifetime: Duration) -> String {
        let token = sign(&self.key, &self.kid, &claims(&self.issuer, audience, CLIENT_ID, lifetime, Fault::None));
        secrets::register_as("a token minted by the test identity provider (Idp::mint)", &token);
        token
    }

    /// Verifies a bearer token as a resource server would: RS256 signature,
    /// issuer, audience, expiry. Returns the claims.
    pub fn verify(&self, bearer: &str, audience: &str) -> Result<Value, String> {
        let parts: Vec<&str> = bearer.split('.').collect();
        let [header, payload, signature] = parts[..] else { return Err("not a JWT".into()) };
        let signature = b64url_decode(signature).ok_or("bad signature encoding")?;
        let mut verifier = Verifier::new(MessageDigest::sha256(), &self.key).unwrap();
        verifier.update(format!("{header}.{payload}").as_bytes()).unwrap();
        if !verifier.verify(&signature).unwrap_or(false) {
            return Err("invalid signature".into());
        }
        let claims: Value = serde_json::from_slice(&b64url_decode(payload).ok_or("bad payload encoding")?)
            .map_err(|e| e.to_string())?;
        if claims["iss"] != self.issuer {
            return Err(format!("issuer {} is not {}", claims["iss"], self.issuer));
        }
        if claims["aud"] != audience {
            return Err(format!("audience {} is not {audience}", claims["aud"]));
        }
        if claims["exp"].as_u64().unwrap_or(0) <= now_secs() {
            return Err("the token is expired".into());
        }
        Ok(claims)
    }
}

struct Handler {
    state: Arc<Mutex<State>>,
    issued: Arc<AtomicUsize>,
    key: PKey<Private>,
    kid: String,
    issuer: String,
    authority_host: String,
}

impl Handler {
    fn handle(&self, request: Request) -> Response {
        let (path, query) = request.url.split_once('?').unwrap_or((&request.url, ""));
        let (status, reply) = match (request.method.as_str(), path) {
            ("POST", p) if p == format!("/{TENANT}/oauth2/v2.0/token") => self.token(&form(&request.body)),
            ("POST", p) if p.ends_with("/oauth2/v2.0/token") => (
                400,
                entra_error(
                    "invalid_request",
                    "AADSTS90002: Tenant not found. Check to make sure you have the correct tenant ID.",
                ),
            ),
            ("GET", "/metadata/identity/oauth2/token") => {
                self.imds(request.header("Metadata") == Some("true"), &form(query))
            }
            ("GET", p) if p == format!("/{TENANT}/discovery/v2.0/keys") => (200, self.jwks()),
            ("GET", p) if p == format!("/{TENANT}/v2.0/.well-known/openid-configuration") => (
                200,
                json!({
                    "issuer": self.issuer,
                    "token_endpoint": format!("{}/{TENANT}/oauth2/v2.0/token", self.authority_host),
                    "jwks_uri": format!("{}/{TENANT}/discovery/v2.0/keys", self.authority_host),
                    "id_token_signing_alg_values_supported": ["RS256"],
                }),
            ),
            _ => (404, entra_error("not_found", "no such endpoint")),
        };
        Response::json(status, reply.to_string())
    }

    /// The v2.0 token endpoint, client credentials grant.
    fn token(&self, form: &HashMap<String, String>) -> (u16, Value) {
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        // Whatever is presented, right or wrong, is a secret of the caller.
        secrets::register_as("a client secret presented to the test identity provider", get("client_secret"));
        secrets::register_as("a client assertion presented to the test identity provider", get("client_assertion"));
        if self.state.lock().unwrap().fault == Fault::EchoRequest {
            let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let quoted = format!("AADSTS7000215: Invalid client secret provided. The request was: {}", body.join("&"));
            return (400, entra_error("invalid_client", &quoted));
        }
        if get("grant_type") != "client_credentials" {
            return (
                400,
                entra_error("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."),
            );
        }
        if get("client_id") != CLIENT_ID {
            return (
                400,
                entra_error("unauthorized_client", "AADSTS700016: Application was not found in the directory."),
            );
        }
        let state = self.state.lock().unwrap();
        if !form.contains_key("client_assertion") && !form.contains_key("client_secret") {
            return (400, entra_error("invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."));
        }
        if form.contains_key("client_assertion") {
            if get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
                return (400, entra_error("invalid_request", "AADSTS50027: Invalid client_assertion_type."));
            }
            if get("client_assertion") != state.federated_token {
                return (
                    400,
                    entra_error(
                        "invalid_client",
                        "AADSTS70021: No matching federated identity record found for presented assertion.",
                    ),
                );
            }
        } else if get("client_secret") != CLIENT_SECRET {
            return (400, entra_error("invalid_client", "AADSTS7000215: Invalid client secret provided."));
        }
        let Some(audience) = get("scope").strip_suffix("/.default") else {
            return (400, entra_error("invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier."));
        };
        let (lifetime, fault) = (state.lifetime, state.fault);
        drop(state);
        let token = sign(&self.key, &self.kid, &claims(&self.issuer, audience, CLIENT_ID, lifetime, fault));
        secrets::register_as("an access token issued by the test identity provider (token endpoint)", &token);
        self.issued.fetch_add(1, Ordering::SeqCst);
        let secs = if fault == Fault::Expired { 0 } else { lifetime.as_secs() };
        (200, json!({"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": token}))
    }

    /// IMDS: a resource, not a scope; string numbers, as Azure sends them.
    fn imds(&self, metadata: bool, query: &HashMap<String, String>) -> (u16, Value) {
        if !metadata {
            return (
                400,
                json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
            );
        }
        if query.get("api-version").map(String::as_str) != Some("2018-02-01") {
            return (400, json!({"error": "invalid_request", "error_description": "Invalid API version"}));
        }
        let Some(resource) = query.get("resource") else {
            return (
                400,
                json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
            );
        };
        let client = query.get("client_id").cloned().unwrap_or_else(|| "system-assigned".into());
        if client != MANAGED_IDENTITY_CLIENT_ID && client != "system-assigned" {
            return (400, json!({"error": "invalid_request", "error_description": "Identity not found"}));
        }
        let (lifetime, fault) = {
            let s = self.state.lock().unwrap();
            (s.lifetime, s.fault)
        };
        let claims = claims(&self.issuer, resource, &client, lifetime, fault);
        let expires_on = claims["exp"].as_u64().unwrap();
        let token = sign(&self.key, &self.kid, &claims);
        secrets::register_as("an access token issued by the test identity provider (IMDS)", &token);
        self.issued.fetch_add(1, Ordering::SeqCst);
        (
            200,
            json!({
                "access_token": token,
                "client_id": client,
                "expires_in": lifetime.as_secs().to_string(),
                "expires_on": expires_on.to_string(),
                "resource": resource,
                "token_type": "Bearer",
            }),
        )
    }

    fn jwks(&self) -> Value {
        let rsa = self.key.rsa().unwrap();
        json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": b64url(&rsa.n().to_vec()), "e": b64url(&rsa.e().to_vec()),
        }]})
    }
}

fn claims(issuer: &str, audience: &str, subject: &str, lifetime: Duration, fault: Fault) -> Value {
    let now = now_secs();
    let (iat, exp) = match fault {
        Fault::Expired => (now - 120, now - 60),
        _ => (now, now + lifetime.as_secs()),
    };
    let aud = if fault == Fault::WrongAudience { "https://wrong-audience.example.com" } else { audience };
    json!({
        "aud": aud, "iss": issuer, "iat": iat, "nbf": iat, "exp": exp,
        "sub": subject, "oid": subject, "appid": CLIENT_ID, "azp": CLIENT_ID,
        "tid": TENANT, "ver": "2.0",
    })
}

fn sign(key: &PKey<Private>, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url(&signer.sign_to_vec().unwrap()))
}

fn entra_error(code: &str, description: &str) -> Value {
    json!({
        "error": code,
        "error_description": format!("{description} Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: 2026-11-27 00:00:00Z"),
        "error_codes": [description.trim_start_matches("AADSTS").split(':').next().unwrap_or("0").parse::<u64>().unwrap_or(0)],
    })
}

/// `application/x-www-form-urlencoded` (or a query string) into a map.
fn form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn b64url(bytes: &[u8]) -> String {
    openssl::base64::encode_block(bytes).replace('+', "-").replace('/', "_").trim_end_matches('=').to_owned()
}

fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut b64 = text.replace('-', "+").replace('_', "/");
    while !b64.len().is_multiple_of(4) {
        b64.push('=');
    }
    openssl::base64::decode_block(&b64).ok()
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}
