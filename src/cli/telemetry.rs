//! The command's trace: its root span, parented by `TRACEPARENT`, and its
//! duration metric. The exporters themselves are the library's
//! ([`topicform::telemetry`]); `main` starts them before logging and stops
//! them after the runtime.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use topicform::telemetry::{self, Switch, Telemetry};

/// Starts the exporters the `OTEL_*` variables ask for. The second value is
/// a warning to log once logging is set up (telemetry then stays off).
pub fn start() -> (Option<Telemetry>, Option<String>) {
    let var = |name: &str| std::env::var(name).ok();
    match telemetry::settings::from_env(&var) {
        Switch::Off => (None, None),
        Switch::Unsupported(why) => (None, Some(why)),
        on => match Telemetry::install(&on) {
            Ok(t) => (t, None),
            Err(why) => (None, Some(format!("{why}; telemetry is off for this run"))),
        },
    }
}

/// Runs `work` as the trace of `command`: one root span named
/// `topicform COMMAND`, a child of the caller's trace when `TRACEPARENT`
/// names one, its status an error when the command fails.
pub async fn traced<T, E: std::fmt::Display>(
    command: &'static str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let root = tracing::info_span!(
        "command",
        otel.name = format!("topicform {command}"),
        otel.kind = "internal",
        topicform.command = command,
        topicform.environment = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    if !root.is_disabled() {
        // An invalid TRACEPARENT gives an empty context: a trace of its own.
        let _ = root.set_parent(telemetry::parent_from_env(&|name| std::env::var(name).ok()));
    }
    let started = Instant::now();
    let result = work.instrument(root.clone()).await;
    telemetry::finish_run(&root, command, started, result.as_ref().err());
    result
}
