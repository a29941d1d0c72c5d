//! SIGINT and SIGTERM while apply writes: the first asks the apply engine to
//! stop after the batch in flight (so the report says what was done), the
//! second exits at once, as users of kubectl and terraform expect. Before
//! the writes, with a Lease held: release it, then exit. The controller's
//! first signal stops it the same way, then releases its Lease (exit 0).

use tokio::signal::unix::{signal, SignalKind};
use topicform::apply::{Interrupt, Signal};

/// Starts watching for SIGINT and SIGTERM and returns the handle the apply
/// engine checks. Called only once writes are about to start: before that,
/// the default action (exit at once) loses nothing.
pub fn stop_on_signals() -> Interrupt {
    let interrupt = Interrupt::default();
    let watched = interrupt.clone();
    let watching = on_first_signal(move |received| {
        watched.raise(received);
        tracing::warn!(
            signal = received.name(),
            "stopping: no new changes are sent; waiting up to {} s for the ones in flight (send it again to exit now)",
            topicform::apply::IN_FLIGHT_GRACE.as_secs()
        );
    });
    if !watching {
        tracing::warn!("cannot watch for SIGINT/SIGTERM; a signal stops apply at once");
    }
    interrupt
}

/// The controller's signals: the first SIGINT or SIGTERM turns the
/// returned flag true (the run in flight sends no new batch, the Lease is
/// released, the process exits 0, as Kubernetes expects of a deleted pod);
/// a second exits at once.
pub fn stop_controller_on_signals() -> tokio::sync::watch::Receiver<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watching = on_first_signal(move |received| {
        tracing::warn!(
            signal = received.name(),
            "stopping: the run in flight sends no new batch; then the Lease is released"
        );
        let _ = stop.send(true);
    });
    if !watching {
        tracing::warn!("cannot watch for SIGINT/SIGTERM; a signal stops the controller at once");
    }
    stopped
}

/// For a server (`lag --serve`): the first SIGINT or SIGTERM completes the
/// returned future (it stops serving and exits 0, as Kubernetes expects of
/// a deleted pod); a second exits at once.
pub fn stop_serving_on_signals() -> impl std::future::Future<Output = ()> {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    if !on_first_signal(move |received| {
        tracing::info!(signal = received.name(), "stopping");
        let _ = stop.send(true);
    }) {
        tracing::warn!("cannot watch for SIGINT/SIGTERM; a signal stops the server at once");
    }
    async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    }
}

/// Calls `first` on the first SIGINT or SIGTERM; a second exits at once,
/// as users of kubectl and terraform expect. False when the signals cannot
/// be watched (their default action then stays).
fn on_first_signal(mut first: impl FnMut(Signal) + Send + 'static) -> bool {
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return false;
    };
    tokio::spawn(async move {
        // Counted here: a stop raised otherwise (the lock lost) is not the
        // user's first signal.
        let mut signals = 0;
        loop {
            let received = tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            };
            signals += 1;
            if signals > 1 {
                eprintln!("{}: exiting now; changes in flight may or may not have landed", received.name());
                std::process::exit(i32::from(received.exit_code()));
            }
            first(received);
        }
    });
    true
}

/// Until aborted (when writes are about to start): on SIGINT or SIGTERM,
/// run `release` and exit as the signal would have. Nothing was sent yet,
/// so nothing is lost; the next run need not wait out the Lease.
pub fn release_on_signal(
    release: impl std::future::Future<Output = ()> + Send + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return None;
    };
    Some(tokio::spawn(async move {
        let received = tokio::select! {
            _ = int.recv() => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
        };
        tracing::warn!(signal = received.name(), "stopping before any change was sent; releasing the apply lock");
        release.await;
        std::process::exit(i32::from(received.exit_code()));
    }))
}
