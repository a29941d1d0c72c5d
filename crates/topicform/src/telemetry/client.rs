//! The one HTTP client of both exporters, built on a thread of its own while
//! the command starts.
//!
//! Building a client costs tens of milliseconds: reqwest with native-tls
//! makes an OpenSSL context, which parses the system's whole CA bundle, and
//! starts the blocking client's runtime thread. The OTLP exporters would each
//! build one before the command could start (measured: +0.13 s on every
//! run). Here it is built once, beside the command's own work (which mostly
//! waits on the network), and an export waits for it only if it comes first.

use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

type Built = Result<reqwest::blocking::Client, String>;

/// A client being built, or built.
pub(super) struct BackgroundClient {
    building: Mutex<Option<JoinHandle<Built>>>,
    built: OnceLock<Built>,
}

impl std::fmt::Debug for BackgroundClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackgroundClient")
    }
}

impl BackgroundClient {
    /// Starts building a client whose requests time out after `timeout`.
    pub(super) fn start(timeout: Duration) -> Arc<BackgroundClient> {
        let building = std::thread::Builder::new()
            .name("topicform-otlp-client".into())
            .spawn(move || reqwest::blocking::Client::builder().timeout(timeout).build().map_err(|e| e.to_string()))
            .ok();
        Arc::new(BackgroundClient { building: Mutex::new(building), built: OnceLock::new() })
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, HttpError> {
        let built = self.built.get_or_init(|| {
            let handle = self.building.lock().unwrap_or_else(|e| e.into_inner()).take();
            match handle.map(JoinHandle::join) {
                Some(Ok(built)) => built,
                Some(Err(_)) => Err("building the HTTP client panicked".into()),
                None => Err("cannot start a thread to build the HTTP client".into()),
            }
        });
        built.as_ref().map_err(|e| e.clone().into())
    }
}

#[async_trait::async_trait]
impl HttpClient for BackgroundClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        self.client()?.send_bytes(request).await
    }
}

/// The exporters' request timeout: `OTEL_EXPORTER_OTLP_TIMEOUT` in
/// milliseconds, 10 s by default (the specification's).
pub(super) fn timeout_from_env() -> Duration {
    std::env::var("OTEL_EXPORTER_OTLP_TIMEOUT")
        .ok()
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}
