//! Where diagnostics go: logs (text or JSON lines) and the final error, on
//! stderr, set up once at start.

use std::io::Write;
use std::sync::OnceLock;

use topicform::secret::scrub;
use topicform::telemetry::Telemetry;

use super::LogFormat;

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The log format chosen at start (text until [`init`] runs).
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or(LogFormat::Text)
}

/// Sets up the log subscriber and the error renderer. Errors never wrap (the
/// terminal wraps them): CI logs keep `file:line:col: message` on one line,
/// and a secret a server relayed stays whole on one line for the scrubber.
///
/// With `telemetry`, its layer sees topicform's spans; the log layer sees
/// events only, so log lines look the same with telemetry on or off, and
/// with it off no span is ever created.
pub fn init(format: LogFormat, level: &str, telemetry: Option<&Telemetry>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let _ = FORMAT.set(format);
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().terminal_links(false).wrap_lines(false).build())
    }));
    // --log-level is topicform's own detail; the HTTP and TLS crates stay at
    // warn (their trace output is noise, and header dumps are their business).
    // RUST_LOG, when set, is taken as it is.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(own_level_filter(level)));
    let events_only = tracing_subscriber::filter::filter_fn(|meta| meta.is_event());
    let logs = tracing_subscriber::fmt::layer().with_writer(|| ScrubbedStderr);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().boxed(),
    };
    // Only spans of topicform's own code: the HTTP crates' spans would
    // include the exporter's own requests.
    let spans = telemetry.and_then(Telemetry::tracer).map(|tracer| {
        let own_spans = tracing_subscriber::filter::filter_fn(|meta| {
            meta.is_span() && meta.target().starts_with("topicform") && *meta.level() <= tracing::Level::INFO
        });
        tracing_opentelemetry::layer().with_tracer(tracer).with_filter(own_spans)
    });
    tracing_subscriber::registry().with(logs.with_filter(filter).with_filter(events_only)).with(spans).init();
}

/// `debug` → `warn,topicform=debug`; a full directive (with `=` or `,`) as given.
fn own_level_filter(level: &str) -> String {
    if level.contains('=') || level.contains(',') {
        level.to_owned()
    } else {
        format!("warn,topicform={level}")
    }
}

/// Prints a diagnostic once: with source snippets for people, or as one
/// JSON object (message, code, help, related findings) with `--log-format json`.
pub fn report(diagnostic: &dyn miette::Diagnostic, format: LogFormat) {
    match format {
        LogFormat::Text => {
            let mut out = String::new();
            // Never wrapped, on a terminal either: a wrapped token or secret
            // is split over lines, and no line would hold it whole for scrub.
            let handler = miette::GraphicalReportHandler::new_themed(theme()).with_width(usize::MAX);
            match handler.render_report(&mut out, diagnostic) {
                Ok(()) => eprint!("{}", scrub(&out)),
                Err(_) => eprintln!("{}", scrub(&diagnostic.to_string())),
            }
        }
        LogFormat::Json => {
            let mut out = String::new();
            match miette::JSONReportHandler::new().render_report(&mut out, diagnostic) {
                Ok(()) => eprintln!("{}", scrub(&out)),
                Err(_) => eprintln!("{}", serde_json::json!({ "message": scrub(&diagnostic.to_string()) })),
            }
        }
    }
}

fn theme() -> miette::GraphicalTheme {
    if super::term::stderr_color() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    }
}

/// A one-line status message (`valid (...)`, `Saved the plan ...`): plain
/// text, or an `info` event in JSON mode.
pub fn status(message: &str) {
    match format() {
        LogFormat::Text => eprintln!("{}", scrub(message)),
        LogFormat::Json => tracing::info!("{message}"),
    }
}

/// Standard error with every secret value the process holds masked: log
/// events relay servers' messages, which may echo a credential. The fmt
/// layer writes each event in one call, so no secret straddles two writes.
struct ScrubbedStderr;

impl Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_levels_apply_to_topicform_and_dependencies_stay_at_warn() {
        assert_eq!(super::own_level_filter("trace"), "warn,topicform=trace");
        assert_eq!(super::own_level_filter("info,hyper=debug"), "info,hyper=debug");
    }
}
