//! A small Azure Resource Manager REST client for one Event Hubs namespace
//! (api-version 2024-01-01).
//!
//! Every request carries a bearer token for `https://management.azure.com/.default`,
//! has its own timeout, and is retried with exponential backoff on 429, 409
//! and 5xx answers and on transport errors, honouring `Retry-After`.
//! Long-running operations (201/202 with `Azure-AsyncOperation` or
//! `Location`) are polled until they end (through the event hub itself when
//! the status link answers 403), and list paging stops with an error on a
//! repeated `nextLink` or after [`Timing::max_pages`]. Every error names the
//! operation, the resource, the HTTP status, ARM's error code and message and
//! the `x-ms-request-id`; never a token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tracing::Instrument;

use crate::auth::TokenProvider;
use crate::telemetry::request::HttpCall;
use crate::{Error, Result};

mod roles;

pub use roles::{assignment_name, Granted};

/// The ARM api-version topicform speaks to Microsoft.EventHub (the contract
/// in `tests/testdata/arm/reference/`).
pub const API_VERSION: &str = "2024-01-01";

/// Retry and polling timing.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Attempts per request (the first included).
    pub attempts: u32,
    /// First backoff; doubles per attempt.
    pub backoff: Duration,
    /// Longest wait between attempts or polls, `Retry-After` included.
    pub max_wait: Duration,
    /// Poll interval of a long-running operation without `Retry-After`.
    pub poll: Duration,
    /// How long a long-running operation may take.
    pub operation_deadline: Duration,
    /// Most list pages followed through `nextLink` (a guard against a
    /// server that never stops paging).
    pub max_pages: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            attempts: 6,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
            poll: Duration::from_secs(2),
            operation_deadline: Duration::from_secs(600),
            max_pages: 10_000,
        }
    }
}

/// An ARM client scoped to one namespace.
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    base: Url,
    /// Path segments of the namespace resource.
    namespace: Vec<String>,
    tokens: Arc<dyn TokenProvider>,
    timeout: Duration,
    timing: Timing,
}

/// A successful answer.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl ArmClient {
    /// A client for namespace `namespace` in `subscription` / `resource_group`
    /// behind `base` (e.g. `https://management.azure.com`).
    pub fn new(
        http: reqwest::Client,
        base: Url,
        subscription: &str,
        resource_group: &str,
        namespace: &str,
        tokens: Arc<dyn TokenProvider>,
        timeout: Duration,
    ) -> Self {
        let namespace = [
            "subscriptions",
            subscription,
            "resourceGroups",
            resource_group,
            "providers",
            "Microsoft.EventHub",
            "namespaces",
            namespace,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        ArmClient { http, base, namespace, tokens, timeout, timing: Timing::default() }
    }

    /// Replaces the retry and polling timing.
    pub fn with_timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// The URL of the namespace, or of a resource below it.
    fn url(&self, below: &[&str]) -> Url {
        self.url_at(below, API_VERSION)
    }

    /// [`url`](Self::url) with another resource provider's api-version.
    fn url_at(&self, below: &[&str], api_version: &str) -> Url {
        let mut url = self.base.clone();
        {
            let mut segs = url.path_segments_mut().expect("an http(s) base URL");
            segs.pop_if_empty();
            segs.extend(self.namespace.iter().map(String::as_str));
            segs.extend(below);
        }
        url.set_query(Some(&format!("api-version={api_version}")));
        url
    }

    /// The namespace's resource path, as ARM ids are written.
    pub(crate) fn namespace_id(&self) -> String {
        format!("/{}", self.namespace.join("/"))
    }

    /// `GET .../namespaces/{ns}`.
    pub(crate) async fn get_namespace(&self) -> Result<Value> {
        let id = self.namespace_id();
        Ok(self.call("reading namespace", &id, Method::GET, self.url(&[]), None).await?.body)
    }

    /// `GET .../namespaces/{ns}/eventhubs`, every page (`nextLink`). A
    /// `nextLink` seen before, or more than [`Timing::max_pages`] pages, is an
    /// error rather than an endless loop.
    pub async fn list_eventhubs(&self) -> Result<Vec<Value>> {
        let resource = format!("{}/eventhubs", self.namespace_id());
        self.list_all("listing event hubs", &resource, self.url(&["eventhubs"])).await
    }

    /// Every item of an ARM list at `url`, following `nextLink` within the
    /// guards of [`list_eventhubs`](Self::list_eventhubs).
    async fn list_all(&self, op: &str, resource: &str, mut url: Url) -> Result<Vec<Value>> {
        let resource = resource.to_owned();
        let mut seen = std::collections::HashSet::new();
        let mut hubs = Vec::new();
        for _ in 0..self.timing.max_pages.max(1) {
            seen.insert(url.to_string());
            let body = self.call(op, &resource, Method::GET, url, None).await?.body;
            let Some(items) = body["value"].as_array() else {
                return Err(self.error(
                    op,
                    &resource,
                    None,
                    "the answer has no `value` list: not an ARM list response".into(),
                    None,
                ));
            };
            hubs.extend(items.iter().cloned());
            match body["nextLink"].as_str().filter(|l| !l.is_empty()) {
                Some(next) => {
                    url = self.same_origin(op, &resource, next)?;
                    if seen.contains(url.as_str()) {
                        return Err(self.error(
                            op,
                            &resource,
                            None,
                            format!(
                                "ARM returned a nextLink already followed ({}) after {} page(s); stopped instead of looping",
                                short_link(&url),
                                seen.len()
                            ),
                            None,
                        ));
                    }
                }
                None => return Ok(hubs),
            }
        }
        Err(self.error(
            op,
            &resource,
            None,
            format!(
                "ARM was still returning a nextLink after {} pages ({} items so far); stopped",
                self.timing.max_pages.max(1),
                hubs.len()
            ),
            None,
        ))
    }

    /// `PUT .../eventhubs/{name}`, waiting for a long-running operation to end.
    pub async fn put_eventhub(&self, name: &str, body: &Value) -> Result<()> {
        let resource = format!("{}/eventhubs/{name}", self.namespace_id());
        let op = "writing event hub";
        let url = self.url(&["eventhubs", name]);
        let reply = self.call(op, &resource, Method::PUT, url.clone(), Some(body)).await?;
        self.wait(op, &resource, reply, Fallback::Put { url, body }).await
    }

    /// `DELETE .../eventhubs/{name}`; an event hub already gone is success.
    pub async fn delete_eventhub(&self, name: &str) -> Result<()> {
        let resource = format!("{}/eventhubs/{name}", self.namespace_id());
        let op = "deleting event hub";
        let url = self.url(&["eventhubs", name]);
        let reply = self.call(op, &resource, Method::DELETE, url.clone(), None).await?;
        self.wait(op, &resource, reply, Fallback::Delete { url }).await
    }

    /// A URL ARM handed back (`nextLink`, operation status). It must point
    /// at the same endpoint, so the token is never sent anywhere else.
    fn same_origin(&self, op: &str, resource: &str, link: &str) -> Result<Url> {
        let url = Url::parse(link)
            .or_else(|_| self.base.join(link))
            .map_err(|e| self.error(op, resource, None, format!("ARM returned an invalid link `{link}`: {e}"), None))?;
        if url.origin() != self.base.origin() {
            return Err(self.error(
                op,
                resource,
                None,
                format!(
                    "ARM returned a link to another host ({}); not following it with the token",
                    url.origin().ascii_serialization()
                ),
                None,
            ));
        }
        Ok(url)
    }

    /// Waits for the operation `reply` started, if it is long-running.
    ///
    /// The status links live under `/subscriptions/{sub}/providers/
    /// Microsoft.EventHub/locations/...`, which a least-privilege role on
    /// the namespace may not read: on 403 there, the event hub itself is
    /// polled instead (`fallback`).
    async fn wait(&self, op: &str, resource: &str, reply: Reply, fallback: Fallback<'_>) -> Result<()> {
        if !matches!(reply.status, StatusCode::CREATED | StatusCode::ACCEPTED) {
            return Ok(());
        }
        let deadline = Instant::now() + self.timing.operation_deadline;
        let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut pause = retry_after(&reply.headers).unwrap_or(self.timing.poll);
        if let Some(link) = header("azure-asyncoperation") {
            let url = self.same_origin(op, resource, &link)?;
            loop {
                self.pause(op, resource, deadline, pause).await?;
                let poll = self.call_accepting(op, resource, Method::GET, url.clone(), None, &[FORBIDDEN]).await?;
                if poll.status == FORBIDDEN {
                    return self.poll_resource(op, resource, deadline, fallback).await;
                }
                match poll.body["status"].as_str().unwrap_or("") {
                    s if s.eq_ignore_ascii_case("Succeeded") => return Ok(()),
                    s if s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled") => {
                        let (code, message) = arm_error(&poll.body);
                        let detail = format!(
                            "the operation ended {s}{}",
                            describe(code.as_deref(), message.as_deref()).map(|d| format!(": {d}")).unwrap_or_default()
                        );
                        return Err(self.error(op, resource, Some(poll.status), detail, request_id(&poll.headers)));
                    }
                    _ => pause = retry_after(&poll.headers).unwrap_or(self.timing.poll),
                }
            }
        }
        if let Some(link) = header("location") {
            let url = self.same_origin(op, resource, &link)?;
            loop {
                self.pause(op, resource, deadline, pause).await?;
                let poll = self.call_accepting(op, resource, Method::GET, url.clone(), None, &[FORBIDDEN]).await?;
                if poll.status == FORBIDDEN {
                    return self.poll_resource(op, resource, deadline, fallback).await;
                }
                if poll.status != StatusCode::ACCEPTED {
                    return Ok(());
                }
                pause = retry_after(&poll.headers).unwrap_or(self.timing.poll);
            }
        }
        // 201 without a status link: created.
        Ok(())
    }

    /// Polls the event hub itself until it shows the PUT's result (its
    /// partition count, not in a transitional status, `provisioningState`
    /// Succeeded where present) or, after a DELETE, until it is gone.
    async fn poll_resource(&self, op: &str, resource: &str, deadline: Instant, fallback: Fallback<'_>) -> Result<()> {
        tracing::debug!(
            operation = op,
            resource,
            "the operation status link answered 403 (a role without access to Microsoft.EventHub/locations); polling the event hub instead"
        );
        let mut first = true;
        loop {
            if !std::mem::take(&mut first) {
                self.pause(op, resource, deadline, self.timing.poll).await?;
            }
            match &fallback {
                Fallback::Delete { url } => {
                    let got = self
                        .call_accepting(op, resource, Method::GET, url.clone(), None, &[StatusCode::NOT_FOUND])
                        .await?;
                    if got.status == StatusCode::NOT_FOUND {
                        return Ok(());
                    }
                }
                Fallback::Put { url, body } => {
                    let got = self
                        .call_accepting(op, resource, Method::GET, url.clone(), None, &[StatusCode::NOT_FOUND])
                        .await?;
                    if got.status == StatusCode::NOT_FOUND {
                        continue;
                    }
                    let props = &got.body["properties"];
                    let state = props["provisioningState"].as_str().unwrap_or("Succeeded");
                    if state.eq_ignore_ascii_case("Failed") || state.eq_ignore_ascii_case("Canceled") {
                        return Err(self.error(
                            op,
                            resource,
                            None,
                            format!("the event hub's provisioningState is {state}"),
                            request_id(&got.headers),
                        ));
                    }
                    let settled = state.eq_ignore_ascii_case("Succeeded")
                        && !props["status"].as_str().is_some_and(|s| {
                            ["Creating", "Deleting", "Renaming"].iter().any(|t| s.eq_ignore_ascii_case(t))
                        });
                    let wanted = body["properties"]["partitionCount"].as_u64();
                    if settled && (wanted.is_none() || props["partitionCount"].as_u64() == wanted) {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Waits `pause` (capped to [`Timing::max_wait`], so a long
    /// `Retry-After` does not end the operation early), or until the
    /// deadline if that comes first; an error once the deadline has passed.
    async fn pause(&self, op: &str, resource: &str, deadline: Instant, pause: Duration) -> Result<()> {
        let now = Instant::now();
        if now >= deadline {
            return Err(self.error(
                op,
                resource,
                None,
                format!("the operation did not finish within {} s", self.timing.operation_deadline.as_secs()),
                None,
            ));
        }
        tokio::time::sleep(pause.min(self.timing.max_wait).min(deadline - now)).await;
        Ok(())
    }

    /// One request with retries. 2xx is `Ok` (404 on DELETE too); anything
    /// else, once retries are spent, is an [`Error::Arm`].
    async fn call(&self, op: &str, resource: &str, method: Method, url: Url, body: Option<&Value>) -> Result<Reply> {
        self.call_accepting(op, resource, method, url, body, &[]).await
    }

    /// [`call`](Self::call), answering the statuses in `accept` as `Ok`
    /// too (without retrying them), for the caller to act on.
    async fn call_accepting(
        &self,
        op: &str,
        resource: &str,
        method: Method,
        url: Url,
        body: Option<&Value>,
        accept: &[StatusCode],
    ) -> Result<Reply> {
        // One span per operation (`arm PUT eventhub`), its attempts inside.
        let span = tracing::info_span!(
            "arm",
            otel.name = format!("arm {op}"),
            topicform.arm.operation = op,
            topicform.arm.resource = resource,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        // Each attempt is a span of its own, throttling waits timed.
        let attempts = async {
            let mut attempt = 0;
            let (mut refreshed, mut use_fresh) = (false, false);
            loop {
                attempt += 1;
                let last = attempt >= self.timing.attempts;
                let token = if std::mem::take(&mut use_fresh) {
                    self.tokens.fresh_token().await?.token
                } else {
                    self.tokens.token().await?.token
                };
                let mut request =
                    self.http.request(method.clone(), url.clone()).bearer_auth(token.expose()).timeout(self.timeout);
                if let Some(body) = body {
                    request = request.json(body);
                }
                let call = HttpCall::start("arm", method.as_str(), &url);
                if attempt > 1 {
                    call.resent(attempt - 1);
                }
                let response = match request.send().instrument(call.span().clone()).await {
                    Ok(r) => r,
                    Err(e) => {
                        let detail = if e.is_timeout() {
                            format!("no answer within {} s", self.timeout.as_secs())
                        } else {
                            format!("request failed: {}", transport_message(&e))
                        };
                        call.finish(None, Some(&detail));
                        if last {
                            return Err(self.error(op, resource, None, detail, None));
                        }
                        tracing::warn!(operation = op, resource, attempt, error = %detail, "retrying");
                        tokio::time::sleep(self.backoff(attempt)).await;
                        continue;
                    }
                };
                let status = response.status();
                call.finish(Some(status.as_u16()), None);
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                let body: Value = if text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).unwrap_or(Value::Null)
                };
                if status.is_success()
                    || (method == Method::DELETE && status == StatusCode::NOT_FOUND)
                    || accept.contains(&status)
                {
                    // A read must answer JSON: an HTML page from a proxy or a
                    // captive portal must not read as "no event hubs".
                    if method == Method::GET && status == StatusCode::OK && !body.is_object() {
                        let snippet: String = text.chars().take(80).collect();
                        return Err(self.error(
                            op,
                            resource,
                            Some(status),
                            format!("the answer is not a JSON object (starts with {snippet:?})"),
                            request_id(&headers),
                        ));
                    }
                    return Ok(Reply { status, headers, body });
                }
                if status == StatusCode::UNAUTHORIZED && !refreshed && !last {
                    tracing::warn!(operation = op, resource, "ARM rejected the token; retrying once with a new one");
                    (refreshed, use_fresh) = (true, true);
                    continue;
                }
                let (code, message) = arm_error(&body);
                let retriable = status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::CONFLICT
                    || status.is_server_error();
                if retriable && !last {
                    let wait = retry_after(&headers).unwrap_or_else(|| self.backoff(attempt)).min(self.timing.max_wait);
                    tracing::warn!(
                        operation = op,
                        resource,
                        attempt,
                        status = status.as_u16(),
                        code = code.as_deref().unwrap_or(""),
                        request_id = request_id(&headers).as_deref().unwrap_or(""),
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    throttled_wait(status, wait, url.host_str().unwrap_or_default()).await;
                    continue;
                }
                let mut detail = describe(code.as_deref(), message.as_deref()).unwrap_or_else(|| {
                    let snippet: String = text.chars().take(200).collect();
                    if snippet.trim().is_empty() {
                        "no error body".into()
                    } else {
                        snippet
                    }
                });
                if retriable {
                    detail.push_str(&format!(" (after {attempt} attempts)"));
                }
                return Err(self.error(op, resource, Some(status), detail, request_id(&headers)));
            }
        };
        let result = attempts.instrument(span.clone()).await;
        if let Err(e) = &result {
            crate::telemetry::mark_failed(&span, e);
        }
        result
    }

    fn backoff(&self, attempt: u32) -> Duration {
        (self.timing.backoff * 2u32.saturating_pow(attempt.saturating_sub(1).min(10))).min(self.timing.max_wait)
    }

    fn error(
        &self,
        operation: &str,
        resource: &str,
        status: Option<StatusCode>,
        detail: String,
        request_id: Option<String>,
    ) -> Error {
        let mut text = match status {
            Some(s) => format!("HTTP {}: {detail}", s.as_u16()),
            None => detail,
        };
        if let Some(id) = request_id {
            text.push_str(&format!(" (x-ms-request-id: {id})"));
        }
        Error::Arm {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            detail: text,
            help: help_for(status),
        }
    }
}

const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;

/// How to tell that a long-running operation ended when its status link
/// cannot be read: by the event hub itself.
enum Fallback<'a> {
    /// The PUT's URL and body: done once the event hub shows it.
    Put { url: Url, body: &'a Value },
    /// Done once the event hub is gone (404).
    Delete { url: Url },
}

/// A link for an error message: host and path, without the query.
fn short_link(url: &Url) -> String {
    let mut s = format!("{}{}", url.origin().ascii_serialization(), url.path());
    if url.query().is_some() {
        s.push_str("?…");
    }
    s
}

/// ARM's `{"error": {"code", "message"}}` (or the same fields at the top
/// level, as operation-status bodies have them).
fn arm_error(body: &Value) -> (Option<String>, Option<String>) {
    let e = if body["error"].is_object() { &body["error"] } else { body };
    (e["code"].as_str().map(str::to_owned), e["message"].as_str().map(str::to_owned))
}

fn describe(code: Option<&str>, message: Option<&str>) -> Option<String> {
    match (code, message) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (Some(c), None) => Some(c.to_owned()),
        (None, Some(m)) => Some(m.to_owned()),
        (None, None) => None,
    }
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get("x-ms-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// `Retry-After` in seconds (ARM's form). An HTTP date is ignored in favour
/// of the backoff.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// A transport error with its cause chain (the URL in it carries nothing
/// Sleeps the wait before a retry as a span of its own; a 429's wait
/// counts as throttling (`topicform.throttling.duration`).
async fn throttled_wait(status: StatusCode, wait: Duration, server: &str) {
    let span = tracing::info_span!(
        "wait",
        otel.name = "retry wait",
        http.response.status_code = status.as_u16(),
        topicform.wait_ms = wait.as_millis() as u64,
    );
    tokio::time::sleep(wait).instrument(span).await;
    if status == StatusCode::TOO_MANY_REQUESTS {
        if let Some(m) = crate::telemetry::metrics() {
            m.throttled("arm", server, wait);
        }
    }
}

/// secret: tokens travel in a header).
fn transport_message(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn help_for(status: Option<StatusCode>) -> String {
    match status.map(|s| s.as_u16()) {
        Some(401) => "ARM rejected the token: check the environment's `management:` credential (tenantId, clientId, secret or federated token) and `authorityHost`; the token must be for https://management.azure.com".into(),
        Some(403) => "the identity lacks an ARM permission: it needs Microsoft.EventHub/namespaces/read and namespaces/eventhubs/read, write and delete on the namespace (README, \"Event Hubs (ARM)\"); the services' data roles (Azure Event Hubs Data Sender/Receiver) do not grant them".into(),
        Some(404) => "check the environment's subscriptionId, resourceGroup and namespace (and armEndpoint)".into(),
        Some(409) => "another operation on this resource is still running or the change conflicts with the resource's state; run `topicform plan` again when it is done".into(),
        Some(429) => "ARM kept throttling the requests; try again later".into(),
        Some(s) if s >= 500 => "ARM kept failing; try again later, and quote the x-ms-request-id to Azure support if it persists".into(),
        Some(_) => "ARM refused the request; the message above says why".into(),
        None => "check armEndpoint, the network and any proxy; --timeout raises the per-request timeout".into(),
    }
}

#[cfg(test)]
mod tests {
    use futures::future::BoxFuture;

    use super::*;
    use crate::auth::AccessToken;
    use crate::secret::SecretString;

    /// A client of subscription `sub`, group `rg`, namespace `ns` at `base`.
    fn client_at(base: &str) -> ArmClient {
        ArmClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            "sub",
            "rg",
            "ns",
            Arc::new(FixedToken),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_names() {
        let c = client_at("http://127.0.0.1:1/prefix/");
        assert_eq!(
            c.url(&["eventhubs", "a b"]).as_str(),
            "http://127.0.0.1:1/prefix/subscriptions/sub/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/eventhubs/a%20b?api-version=2024-01-01"
        );
        assert!(c.same_origin("op", "r", "http://127.0.0.1:1/x?$skiptoken=1").is_ok());
        let err = c.same_origin("op", "r", "http://evil.example/x").unwrap_err().to_string();
        assert!(err.contains("another host"), "{err}");
    }

    struct FixedToken;
    impl TokenProvider for FixedToken {
        fn token(&self) -> BoxFuture<'_, Result<AccessToken>> {
            Box::pin(async { Ok(AccessToken::valid_for_an_hour(SecretString::new("t".into()))) })
        }
    }

    /// A server answering every request with `status` and `body`.
    fn serve(status: u16, body: &'static str) -> (Url, std::thread::JoinHandle<()>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", server.server_addr().to_ip().unwrap())).unwrap();
        let handle = std::thread::spawn(move || {
            if let Ok(r) = server.recv() {
                let _ = r.respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        });
        (url, handle)
    }

    #[tokio::test]
    async fn a_read_that_is_not_json_is_an_error_not_an_empty_namespace() {
        let (url, handle) = serve(200, "<html>sign in to the proxy</html>");
        let c =
            ArmClient::new(reqwest::Client::new(), url, "s", "rg", "ns", Arc::new(FixedToken), Duration::from_secs(5));
        let err = c.list_eventhubs().await.unwrap_err().to_string();
        assert!(err.contains("not a JSON object") && err.contains("<html>"), "{err}");
        handle.join().unwrap();
    }

    #[test]
    fn arm_errors_are_read_from_both_shapes() {
        let body = serde_json::json!({"error": {"code": "BadRequest", "message": "no"}});
        assert_eq!(arm_error(&body), (Some("BadRequest".into()), Some("no".into())));
        let body = serde_json::json!({"status": "Failed", "error": {"code": "X", "message": "y"}});
        assert_eq!(describe(arm_error(&body).0.as_deref(), arm_error(&body).1.as_deref()).unwrap(), "X: y");
    }

    #[tokio::test]
    async fn a_long_retry_after_is_capped_before_it_is_compared_with_the_deadline() {
        let timing = Timing {
            max_wait: Duration::from_millis(20),
            operation_deadline: Duration::from_secs(600),
            ..Timing::default()
        };
        let c = client_at("http://127.0.0.1:1/").with_timing(timing);
        // Retry-After: 900 against a 600 s deadline: wait max_wait, then poll again.
        let started = Instant::now();
        c.pause("op", "r", started + timing.operation_deadline, Duration::from_secs(900)).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        // A deadline already passed ends the wait.
        let err = c.pause("op", "r", Instant::now(), Duration::from_millis(1)).await.unwrap_err().to_string();
        assert!(err.contains("did not finish within 600 s"), "{err}");
    }

    #[test]
    fn links_in_errors_lose_their_query() {
        let url = Url::parse("http://127.0.0.1:1/a/eventhubs?api-version=1&$skiptoken=abc").unwrap();
        assert_eq!(short_link(&url), "http://127.0.0.1:1/a/eventhubs?…");
    }

    #[test]
    fn retry_after_is_seconds() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
