//! Spans and metrics of the requests a run sends: Kafka admin requests,
//! HTTP calls to Azure Resource Manager and Entra ID, and throttling waits.
//! Attributes are what the request was (API, method, host, status code),
//! never its body, its headers or a token.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use super::{mark_failed, metrics};

/// Runs one Kafka request (`api`: Metadata, CreateTopics, ...; `topics`:
/// how many it carries) as a span of kind client, and times it.
pub async fn kafka<T, E: std::fmt::Display>(
    api: &'static str,
    topics: usize,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let span = kafka_span(api, topics);
    let started = Instant::now();
    let result = work.instrument(span.clone()).await;
    kafka_done(&span, api, started, result.as_ref().err());
    result
}

/// [`kafka`] for librdkafka's blocking calls (`lag`).
pub fn kafka_blocking<T, E: std::fmt::Display>(
    api: &'static str,
    topics: usize,
    work: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let span = kafka_span(api, topics);
    let started = Instant::now();
    let result = span.in_scope(work);
    kafka_done(&span, api, started, result.as_ref().err());
    result
}

fn kafka_span(api: &'static str, topics: usize) -> tracing::Span {
    tracing::info_span!(
        "kafka",
        otel.name = api,
        otel.kind = "client",
        messaging.system = "kafka",
        messaging.operation.name = api,
        topicform.topics = topics,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    )
}

fn kafka_done(span: &tracing::Span, api: &'static str, started: Instant, error: Option<&impl std::fmt::Display>) {
    if let Some(error) = error {
        mark_failed(span, error);
    }
    if let Some(m) = metrics() {
        m.kafka_request(api, started.elapsed(), error.map(|_| "_OTHER"));
    }
}

/// An HTTP request about to be sent to `api` (`arm`, `entra`): its span,
/// named `METHOD` as the HTTP conventions say, with the host and the path
/// without its query (no query of these APIs carries a secret, but
/// `api-version` alone says nothing useful either).
pub struct HttpCall {
    span: tracing::Span,
    api: &'static str,
    method: String,
    server: String,
    started: Instant,
}

impl HttpCall {
    pub fn start(api: &'static str, method: &str, url: &reqwest::Url) -> HttpCall {
        let server = url.host_str().unwrap_or_default().to_owned();
        let span = tracing::info_span!(
            "http",
            otel.name = method,
            otel.kind = "client",
            http.request.method = method,
            server.address = server.as_str(),
            url.path = url.path(),
            topicform.api = api,
            http.response.status_code = tracing::field::Empty,
            http.request.resend_count = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        HttpCall { span, api, method: method.to_owned(), server, started: Instant::now() }
    }

    /// The span, to instrument the request's future with.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// A retry of the same request (the conventions' resend count).
    pub fn resent(&self, count: u32) {
        self.span.record("http.request.resend_count", count);
    }

    /// The answer: a status code, or the error that prevented one. A status
    /// of 400 or more is an error, as the HTTP client conventions say.
    pub fn finish(self, status: Option<u16>, error: Option<&str>) {
        if let Some(status) = status {
            self.span.record("http.response.status_code", status);
        }
        let error_type = match (status, error) {
            (Some(s), _) if s >= 400 => Some(s.to_string()),
            (_, Some(_)) => Some("_OTHER".to_owned()),
            _ => None,
        };
        if let Some(kind) = &error_type {
            self.span.record("error.type", kind.as_str());
            mark_failed(&self.span, &error.unwrap_or(kind.as_str()));
        }
        if let Some(m) = metrics() {
            m.http_request(self.api, &self.method, &self.server, status, self.started.elapsed(), error_type.as_deref());
        }
    }
}
