//! OpenTelemetry traces and metrics of every run, exported as OTLP over
//! HTTP/protobuf when (and only when) the standard `OTEL_*` variables say
//! where ([`settings`]).
//!
//! - **Traces** are the `tracing` spans the code writes anyway (a command's
//!   phases, each Kafka request, each ARM and token call), bridged by
//!   `tracing-opentelemetry`. Only spans reach the exporter, never log
//!   events: a span's fields are values topicform chose (names, counts,
//!   status codes), while a log line may relay a server's message.
//! - **Metrics** ([`metrics`]) are recorded where the spans are, through one
//!   process-wide handle that is absent when telemetry is off, so an
//!   unconfigured run builds no attribute and takes no lock.
//! - A `TRACEPARENT` (and `TRACESTATE`) in the environment parents the run's
//!   trace ([`parent_from_env`]), as the W3C environment-carrier convention
//!   has it for CI systems and Jobs.
//! - [`Telemetry::shutdown`] flushes off the async runtime on threads of its
//!   own and gives up after a bound: a collector that is down or hangs costs
//!   at most that, with a warning, never the command's exit code.

mod client;
pub mod metrics;
pub mod request;
pub mod settings;

use std::collections::HashMap;
use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{MetricExporter, RetryPolicy, SpanExporter, WithHttpConfig};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::resource::{EnvResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Instrument;

pub use metrics::metrics;
pub use settings::Switch;

/// The service name when neither `OTEL_SERVICE_NAME` nor
/// `OTEL_RESOURCE_ATTRIBUTES` names one.
const SERVICE_NAME: &str = "topicform";

/// How long the exit may wait for the last export: long enough for a
/// collector on the same network, short enough that a CI step or a Job
/// whose collector is gone is not held up (the exporter's own timeout,
/// `OTEL_EXPORTER_OTLP_TIMEOUT`, is 10 s by default).
pub const FLUSH_BOUND: Duration = Duration::from_secs(5);

/// Spans held for export before new ones are dropped: a 10,000-topic apply
/// writes a span per request, not per topic, so this is ample. The queue is
/// allocated whole at start (65,536 cost 30 MB of RSS on every run).
const SPAN_QUEUE: usize = 4_096;

/// The exporters of one process, while telemetry is on.
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Telemetry {
    /// Builds the exporters `switch` asks for. `Err` says why they cannot be
    /// built (a malformed endpoint, say); the caller warns and runs without.
    pub fn install(switch: &Switch) -> Result<Option<Telemetry>, String> {
        let Switch::On { traces, metrics } = *switch else { return Ok(None) };
        let resource = resource();
        let http = client::BackgroundClient::start(client::timeout_from_env());
        // No retries: the SDK's default (three, for connection refused too)
        // would multiply what a down collector costs; the next run sends
        // its own data anyway. Nothing is set that an OTEL_* variable sets:
        // in code it would override the variable.
        let tracer = traces
            .then(|| {
                let exporter = SpanExporter::builder()
                    .with_http()
                    .with_shared_http_client(http.clone())
                    .with_retry_policy(RetryPolicy::disabled())
                    .build()
                    .map_err(|e| format!("cannot set up the trace exporter: {e}"))?;
                let batches = BatchSpanProcessor::builder(exporter)
                    .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(SPAN_QUEUE).build())
                    .build();
                Ok::<_, String>(
                    SdkTracerProvider::builder().with_span_processor(batches).with_resource(resource.clone()).build(),
                )
            })
            .transpose()?;
        let meter = metrics
            .then(|| {
                let exporter = MetricExporter::builder()
                    .with_http()
                    .with_shared_http_client(http.clone())
                    .with_retry_policy(RetryPolicy::disabled())
                    .build()
                    .map_err(|e| format!("cannot set up the metric exporter: {e}"))?;
                Ok::<_, String>(
                    SdkMeterProvider::builder().with_periodic_exporter(exporter).with_resource(resource).build(),
                )
            })
            .transpose()?;
        if let Some(meter) = &meter {
            metrics::install(meter);
        }
        Ok(Some(Telemetry { tracer, meter }))
    }

    /// The tracer of topicform's spans (`None` without traces), for the
    /// CLI's `tracing-opentelemetry` layer: the library leaves the
    /// subscriber to the binary.
    pub fn tracer(&self) -> Option<opentelemetry_sdk::trace::SdkTracer> {
        Some(self.tracer.as_ref()?.tracer("topicform"))
    }

    /// Exports what is left and stops the exporters, waiting at most
    /// `bound`. Call it off the async runtime, after the command's root span
    /// has closed. `Err` is the warning to print; the run's result stands.
    pub fn shutdown(self, bound: Duration) -> Result<(), String> {
        let (done, finished) = mpsc::channel();
        // Each provider on a thread of its own: the meter provider's
        // shutdown ignores any timeout (it waits up to 5 s inside the SDK),
        // so neither may hold up the other, and neither the exit beyond the
        // bound (the threads die with the process).
        if let Some(tracer) = self.tracer {
            let done = done.clone();
            std::thread::spawn(move || {
                let _ = done.send(("traces", tracer.shutdown_with_timeout(bound).map_err(|e| e.to_string())));
            });
        }
        if let Some(meter) = self.meter {
            let done = done.clone();
            std::thread::spawn(move || {
                let _ = done.send(("metrics", meter.shutdown().map_err(|e| e.to_string())));
            });
        }
        drop(done);
        let deadline = Instant::now() + bound;
        let mut failures = Vec::new();
        loop {
            match finished.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok((_, Ok(()))) => {}
                Ok((signal, Err(e))) => failures.push(format!("{signal}: {e}")),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    failures.push(format!("gave up after {} s", bound.as_secs()));
                    break;
                }
            }
        }
        match failures.is_empty() {
            true => Ok(()),
            false => {
                Err(format!("telemetry was not exported ({}); the command's result is unaffected", failures.join("; ")))
            }
        }
    }
}

/// The resource of every signal: `service.name` topicform unless
/// `OTEL_RESOURCE_ATTRIBUTES` or `OTEL_SERVICE_NAME` (which wins, as the
/// specification says) names another, the version, the SDK's own keys.
fn resource() -> Resource {
    let mut builder = Resource::builder_empty()
        .with_service_name(SERVICE_NAME)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_detector(Box::new(EnvResourceDetector::new()));
    if let Some(name) = std::env::var("OTEL_SERVICE_NAME").ok().filter(|n| !n.trim().is_empty()) {
        builder = builder.with_service_name(name);
    }
    builder.build()
}

/// The trace context a CI system or a parent process passed in
/// `TRACEPARENT` / `TRACESTATE`. Invalid or absent: an empty context, and
/// the run starts a trace of its own.
pub fn parent_from_env(var: &dyn Fn(&str) -> Option<String>) -> opentelemetry::Context {
    // The propagator asks its carrier for lower-case keys.
    let carrier: HashMap<String, String> = [("TRACEPARENT", "traceparent"), ("TRACESTATE", "tracestate")]
        .into_iter()
        .filter_map(|(name, key)| var(name).map(|value| (key.to_owned(), value.trim().to_owned())))
        .collect();
    TraceContextPropagator::new().extract(&carrier)
}

/// Runs `work` as the phase `name` of the current command: a child span
/// (its status an error when the work fails) and the phase's duration.
pub async fn phase<T, E: std::fmt::Display>(
    name: &'static str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let span = phase_span(name);
    let started = Instant::now();
    let result = work.instrument(span.clone()).await;
    finish(&span, name, started, result.as_ref().err());
    result
}

/// [`phase`] for work that does not wait.
pub fn phase_sync<T, E: std::fmt::Display>(name: &'static str, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let span = phase_span(name);
    let started = Instant::now();
    let result = span.in_scope(work);
    finish(&span, name, started, result.as_ref().err());
    result
}

fn phase_span(name: &'static str) -> tracing::Span {
    tracing::info_span!(
        "phase",
        otel.name = name,
        topicform.phase = name,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty
    )
}

fn finish(span: &tracing::Span, name: &'static str, started: Instant, error: Option<&impl std::fmt::Display>) {
    if let Some(error) = error {
        mark_failed(span, error);
    }
    if let Some(m) = metrics() {
        m.phase_duration(name, started.elapsed(), error.is_some());
    }
}

/// Closes the root span of one run of `command` (a CLI command, or one
/// reconcile of the controller): its status, ok or the scrubbed error, and
/// the run's duration metric.
pub fn finish_run(
    root: &tracing::Span,
    command: &'static str,
    started: Instant,
    error: Option<&impl std::fmt::Display>,
) {
    match error {
        None => {
            root.record("otel.status_code", "ok");
        }
        Some(error) => mark_failed(root, error),
    }
    if let Some(m) = metrics() {
        m.run_duration(command, started.elapsed(), error.map(|_| "_OTHER"));
    }
}

/// Names the run's environment on the current span (the command's root,
/// called between phases) and on every later metric point.
pub fn set_environment(name: &str) {
    tracing::Span::current().record("topicform.environment", name);
    if let Some(m) = metrics() {
        m.set_environment(name);
    }
}

/// Sets `span`'s status to error with the (scrubbed) message.
pub fn mark_failed(span: &tracing::Span, error: &impl std::fmt::Display) {
    if span.is_disabled() {
        return;
    }
    span.record("otel.status_code", "error");
    span.record("otel.status_description", crate::secret::scrub(&error.to_string()).as_ref());
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;

    use super::*;

    #[test]
    fn traceparent_parents_the_run_and_garbage_starts_a_new_trace() {
        let vars = |name: &str| match name {
            "TRACEPARENT" => Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned()),
            _ => None,
        };
        let parent = parent_from_env(&vars);
        let span = parent.span();
        let context = span.span_context();
        assert!(context.is_valid() && context.is_remote() && context.is_sampled());
        assert_eq!(context.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(context.span_id().to_string(), "b7ad6b7169203331");

        let garbage = parent_from_env(&|name: &str| (name == "TRACEPARENT").then(|| "00-zz-01".to_owned()));
        assert!(!garbage.span().span_context().is_valid());
        assert!(!parent_from_env(&|_: &str| None).span().span_context().is_valid());
    }
}
