//! A stop asked for while apply runs (SIGINT, SIGTERM): the engine sends no
//! new batch once it is raised, and bounds its wait for the one in flight.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// What stops an apply early, with the exit code it ends with (a shell's
/// for a signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C, or a CI runner's first cancel.
    Interrupt,
    /// SIGTERM: Kubernetes deleting the pod, a CI runner's cancel.
    Terminate,
    /// Not a signal: the apply lock (a Kubernetes Lease) was lost, so
    /// another run may be applying now.
    LockLost,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::LockLost => "the loss of the apply lock",
        }
    }

    /// 128 + the signal number, as a shell reports a process it ended.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
            Signal::LockLost => 1,
        }
    }
}

/// Shared between whoever watches for the signal and the apply engine.
/// Raising it twice keeps the first signal.
#[derive(Debug, Clone)]
pub struct Interrupt {
    raised: Arc<watch::Sender<Option<Signal>>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt { raised: Arc::new(watch::Sender::new(None)) }
    }
}

impl Interrupt {
    /// Asks apply to stop; returns false when a stop was already asked for.
    pub fn raise(&self, signal: Signal) -> bool {
        self.raised.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(signal);
            true
        })
    }

    /// The signal that asked for the stop, if any did.
    pub fn signal(&self) -> Option<Signal> {
        *self.raised.borrow()
    }

    /// Completes `grace` after the stop was asked for; never without one.
    pub(crate) async fn grace_expired(&self, grace: Duration) {
        let mut watching = self.raised.subscribe();
        if watching.wait_for(Option::is_some).await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            // The sender lives as long as `self`: this cannot end.
            std::future::pending::<()>().await;
        }
    }
}
