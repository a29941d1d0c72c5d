//! `/healthz` and `/readyz` for the kubelet's probes.
//!
//! - `/readyz`: 200 once the replica leads or stands by for the Lease (a
//!   standby is healthy: it is what takes over).
//! - `/healthz`: 200 unless the leader has not finished a reconcile for
//!   twice its interval plus ten minutes (a hung run): then 503, and the
//!   kubelet restarts the pod, which releases nothing but lets the Lease
//!   expire for another replica.
//!
//! Both answer with a small JSON body saying what the replica does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};

use super::Done;
use crate::endpoint::{self, AbortOnDrop};
use crate::Result;

/// What the probes report, updated by the controller's loop.
#[derive(Default)]
pub struct Health {
    ready: AtomicBool,
    leader: AtomicBool,
    /// Unix seconds of the last finished reconcile, or of becoming leader.
    last_reconcile: AtomicU64,
    last_reason: Mutex<String>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

impl Health {
    pub(crate) fn set_standby(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }

    pub(crate) fn set_leader(&self, leader: bool) {
        self.ready.store(true, Ordering::Relaxed);
        self.leader.store(leader, Ordering::Relaxed);
        self.last_reconcile.store(now(), Ordering::Relaxed);
    }

    pub(crate) fn reconciled(&self, done: &Done) {
        self.last_reconcile.store(now(), Ordering::Relaxed);
        *self.last_reason.lock().unwrap_or_else(|e| e.into_inner()) = done.outcome.reason.to_string();
    }

    /// Whether a leader's loop is stuck: no reconcile finished for longer
    /// than `limit`.
    fn stalled(&self, limit: Duration) -> bool {
        self.leader.load(Ordering::Relaxed)
            && now().saturating_sub(self.last_reconcile.load(Ordering::Relaxed)) > limit.as_secs()
    }

    fn body(&self) -> String {
        serde_json::json!({
            "leader": self.leader.load(Ordering::Relaxed),
            "lastReconcile": self.last_reconcile.load(Ordering::Relaxed),
            "reason": *self.last_reason.lock().unwrap_or_else(|e| e.into_inner()),
        })
        .to_string()
    }
}

/// Serves the probes on `addr` until the handle is dropped or aborted.
pub(crate) async fn serve(addr: SocketAddr, health: Arc<Health>, interval: Duration) -> Result<AbortOnDrop> {
    let stall = interval * 2 + Duration::from_secs(600);
    endpoint::serve(addr, "the probe endpoint (/healthz, /readyz)", Arc::new(move |path| respond(&health, path, stall)))
        .await
}

fn respond(health: &Health, path: &str, stall: Duration) -> Response<Full<Bytes>> {
    let status = match path {
        "/readyz" if health.ready.load(Ordering::Relaxed) => StatusCode::OK,
        "/readyz" => StatusCode::SERVICE_UNAVAILABLE,
        "/healthz" if health.stalled(stall) => StatusCode::SERVICE_UNAVAILABLE,
        "/healthz" => StatusCode::OK,
        _ => StatusCode::NOT_FOUND,
    };
    endpoint::response(status, "application/json", health.body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_that_stopped_reconciling_is_not_live_and_a_standby_is_ready() {
        let health = Health::default();
        let limit = Duration::from_secs(60);
        assert_eq!(respond(&health, "/readyz", limit).status(), StatusCode::SERVICE_UNAVAILABLE, "not started");
        health.set_standby();
        assert_eq!(respond(&health, "/readyz", limit).status(), StatusCode::OK);
        assert_eq!(respond(&health, "/healthz", limit).status(), StatusCode::OK);
        health.set_leader(true);
        health.last_reconcile.store(now() - 61, Ordering::Relaxed);
        assert_eq!(respond(&health, "/healthz", limit).status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(respond(&health, "/nope", limit).status(), StatusCode::NOT_FOUND);
    }
}
