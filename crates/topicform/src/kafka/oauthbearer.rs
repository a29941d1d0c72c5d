//! SASL OAUTHBEARER for every librdkafka client topicform creates.
//!
//! librdkafka asks for tokens through a refresh callback served from the
//! client's main queue, and rust-rdkafka's admin client never serves that
//! queue (rust-rdkafka issue 757), so an admin client's token would never be
//! refreshed. Instead, a [`TokenSession`] sets the token on the handle itself
//! (`rd_kafka_oauthbearer_set_token`) and refreshes it on its own thread at
//! 80 % of each token's lifetime, for admin clients, producers and consumers
//! alike. With no refresh callback configured, librdkafka simply waits for a
//! token before authenticating.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka_sys::types::RDKafka;

use crate::auth::{AccessToken, Credential, ScopedCredential, TokenProvider};
use crate::{Error, Result};

/// Refreshes the token of one client handle until dropped. Drop it before
/// the client (declare it after the client, or as an earlier struct field).
pub(crate) struct TokenSession {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    handle: Handle,
    stopped: bool,
}

/// The client handle, only used while `State` is locked and not stopped.
struct Handle(*mut RDKafka);
// SAFETY: librdkafka's oauthbearer setters are thread-safe; the pointer is
// only dereferenced under the mutex, and the session stops (under the same
// mutex) before the owner destroys the client.
unsafe impl Send for Handle {}

impl TokenSession {
    /// Fetches a first token and sets it on `rk`, failing when none can be
    /// had within `timeout`; then keeps it fresh on a background thread.
    pub fn start(rk: *mut RDKafka, source: ScopedCredential, timeout: Duration) -> Result<TokenSession> {
        let shared =
            Arc::new(Shared { state: Mutex::new(State { handle: Handle(rk), stopped: false }), wake: Condvar::new() });
        let (first_tx, first_rx) = mpsc::channel();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("topicform-oauthbearer".into())
            .spawn(move || refresh_loop(&thread_shared, &source, timeout, first_tx))
            .map_err(|e| session_error(format!("cannot start the token refresh thread: {e}"), OUT_OF_RESOURCES))?;
        // Dropped on an early return: the thread stops without touching the handle.
        let session = TokenSession { shared };
        match first_rx.recv_timeout(timeout) {
            Ok(Ok(())) => Ok(session),
            Ok(Err(e)) => Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(session_error(
                format!("no token within {} s", timeout.as_secs()),
                "the identity provider is slow or unreachable; check the authority host / token endpoint",
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(session_error(
                "the token refresh thread ended without a token".into(),
                "this is a bug in topicform; run with --log-level debug and report it",
            )),
        }
    }
}

const OUT_OF_RESOURCES: &str = "the system is out of threads or memory";

fn session_error(message: String, help: &str) -> Error {
    Error::Token { source_name: "OAUTHBEARER".into(), message, help: help.into() }
}

impl Drop for TokenSession {
    /// Stops the refresh thread without waiting for it: once `stopped` is
    /// set under the lock it never touches the handle again, so a fetch still
    /// in flight (up to the timeout) cannot delay the command's exit.
    fn drop(&mut self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.stopped = true;
        }
        self.shared.wake.notify_all();
    }
}

/// Fetch, set, sleep until 80 % of the lifetime, repeat. Failures are
/// reported to librdkafka (which logs them and fails pending requests with
/// the reason) and retried with backoff while the old token lasts.
fn refresh_loop(shared: &Shared, source: &ScopedCredential, timeout: Duration, first: mpsc::Sender<Result<()>>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = first.send(Err(session_error(format!("cannot start the token runtime: {e}"), OUT_OF_RESOURCES)));
            return;
        }
    };
    // The first token may come from the credential's cache, which the other
    // clients of the same command share (check and lag open several);
    // refreshes always ask anew. Every request is bounded, so a hung endpoint
    // (or `az`) only delays the next attempt and never holds the thread.
    let fetch = |refresh: bool| async move {
        let token = async {
            if refresh {
                source.fresh_token().await
            } else {
                source.token().await
            }
        };
        tokio::time::timeout(timeout, token).await.unwrap_or_else(|_| {
            Err(Error::Token {
                source_name: source.credential.to_string(),
                message: format!("no answer within {} s", timeout.as_secs()),
                help: "the identity provider is slow or unreachable; check the authority host / token endpoint".into(),
            })
        })
    };
    let mut first = Some(first);
    let mut backoff = Duration::from_secs(1);
    loop {
        let outcome = runtime.block_on(fetch(first.is_none())).and_then(|token| {
            let next = refresh_delay(&token);
            set_token(shared, &token, &source.credential).map(|()| next)
        });
        let wait = match outcome {
            Ok(next) => {
                backoff = Duration::from_secs(1);
                tracing::debug!(in_secs = next.as_secs(), "OAUTHBEARER token set; next refresh scheduled");
                if let Some(tx) = first.take() {
                    let _ = tx.send(Ok(()));
                }
                next
            }
            Err(e) => {
                tracing::warn!(error = %e, "OAUTHBEARER token refresh failed; retrying");
                set_failure(shared, &e.to_string());
                if let Some(tx) = first.take() {
                    let _ = tx.send(Err(e));
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                backoff
            }
        };
        let state = shared.state.lock().expect("token session state");
        let (state, _) = shared.wake.wait_timeout_while(state, wait, |s| !s.stopped).expect("token session state");
        if state.stopped {
            return;
        }
    }
}

/// 80 % of the remaining lifetime, at least one second.
fn refresh_delay(token: &AccessToken) -> Duration {
    (token.remaining() * 4 / 5).max(Duration::from_secs(1))
}

fn set_token(shared: &Shared, token: &AccessToken, credential: &Credential) -> Result<()> {
    let invalid = |what: &str| Error::Token {
        source_name: credential.to_string(),
        message: format!("the token {what}"),
        help: "the identity provider returned an unusable token".into(),
    };
    let value = CString::new(token.token.expose()).map_err(|_| invalid("contains a NUL byte"))?;
    let principal = CString::new(token.subject.as_str()).map_err(|_| invalid("subject contains a NUL byte"))?;
    let lifetime_ms = token
        .expires_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .map_err(|_| invalid("expiry is before 1970"))?;
    let mut errstr = [0 as c_char; 512];
    let state = shared.state.lock().expect("token session state");
    if state.stopped {
        return Ok(());
    }
    // SAFETY: the handle is live while the session is not stopped (checked
    // under the lock held here); the strings outlive the call.
    let err = unsafe {
        rdkafka_sys::rd_kafka_oauthbearer_set_token(
            state.handle.0,
            value.as_ptr(),
            lifetime_ms,
            principal.as_ptr(),
            std::ptr::null_mut(),
            0,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if err == rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Ok(());
    }
    // SAFETY: librdkafka NUL-terminates errstr within its size.
    let reason = unsafe { CStr::from_ptr(errstr.as_ptr()) }.to_string_lossy().into_owned();
    let expired = token.expires_at <= SystemTime::now();
    Err(Error::Token {
        source_name: credential.to_string(),
        message: if expired {
            format!("the token it issued is already expired: {reason}")
        } else {
            format!("the Kafka client refused the token: {reason}")
        },
        help: if expired {
            "check the identity provider's clock and the token lifetime".into()
        } else {
            "the token must be a JWT with an expiry; check the token endpoint".into()
        },
    })
}

fn set_failure(shared: &Shared, reason: &str) {
    let Ok(reason) = CString::new(reason.replace('\0', " ")) else { return };
    let state = shared.state.lock().expect("token session state");
    if state.stopped {
        return;
    }
    // SAFETY: as in set_token.
    unsafe {
        rdkafka_sys::rd_kafka_oauthbearer_set_token_failure(state.handle.0, reason.as_ptr());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretString;

    #[test]
    fn refreshes_at_four_fifths_of_the_remaining_lifetime() {
        let token = |secs| AccessToken {
            token: SecretString::new("t".into()),
            expires_at: SystemTime::now() + Duration::from_secs(secs),
            subject: "s".into(),
            lifetime: Duration::from_secs(secs),
        };
        let d = refresh_delay(&token(100));
        assert!(d <= Duration::from_secs(80) && d >= Duration::from_secs(79), "{d:?}");
        assert_eq!(refresh_delay(&token(0)), Duration::from_secs(1));
    }
}
