//! `lag --serve`: read the lag every interval and serve the last reading on
//! `/metrics` (Prometheus text format, kafka_exporter's names) until
//! stopped. A scrape never waits for the cluster and never sees a reading
//! half written: each reading is rendered whole, then swapped in.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use tracing::Instrument;

use super::prometheus::{self, Reading};
use crate::endpoint;
use crate::kafka::Connection;
use crate::Result;

/// Where to serve and how often to read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub interval: Duration,
    /// Timeout of each request to the cluster.
    pub timeout: Duration,
}

/// Serves until `stop` completes. A reading that fails is logged and
/// served as `topicform_lag_up 0` (no stale lag); the next one is tried at
/// the next interval.
pub async fn run<G, F>(
    connection: &Connection,
    groups: G,
    settings: &Settings,
    stop: impl Future<Output = ()>,
) -> Result<()>
where
    G: Fn() -> F,
    F: Future<Output = Result<BTreeMap<String, Vec<String>>>>,
{
    let served = Arc::new(RwLock::new(Arc::new(prometheus::render(None, Reading::default()))));
    let body = served.clone();
    let _server = endpoint::serve(
        settings.addr,
        "lag metrics (/metrics)",
        Arc::new(move |path| match path {
            "/metrics" => {
                let text = body.read().unwrap_or_else(|e| e.into_inner()).clone();
                endpoint::response(StatusCode::OK, prometheus::CONTENT_TYPE, text.as_bytes().to_vec())
            }
            "/healthz" => endpoint::response(StatusCode::OK, "text/plain", "ok\n"),
            _ => endpoint::response(StatusCode::NOT_FOUND, "text/plain", "not found: try /metrics\n"),
        }),
    )
    .await?;
    tokio::pin!(stop);
    let mut reading = Reading::default();
    loop {
        // Each reading is a trace of its own: the process never ends one.
        let span = tracing::info_span!(parent: None, "reading", otel.name = "topicform lag reading");
        let measured = async {
            let groups = groups().await?;
            super::measure(connection, groups, settings.timeout).await
        }
        .instrument(span)
        .await;
        let report = match measured {
            Ok(report) => {
                reading.ok = true;
                reading.last_success =
                    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
                let total: i64 = report.groups.iter().map(|g| g.lag).sum();
                tracing::info!(groups = report.groups.len(), lag = total, "read the lag");
                Some(report)
            }
            Err(e) => {
                reading.ok = false;
                reading.failures += 1;
                tracing::warn!(error = %crate::secret::scrub(&e.to_string()), "cannot read the lag; serving topicform_lag_up 0 until the next reading");
                None
            }
        };
        let text = Arc::new(prometheus::render(report.as_ref(), reading));
        *served.write().unwrap_or_else(|e| e.into_inner()) = text;
        tokio::select! {
            _ = tokio::time::sleep(settings.interval) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}
