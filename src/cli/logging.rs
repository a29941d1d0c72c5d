//! Where diagnostics go: logs (text or JSON lines) and the final error, on
//! stderr, set up once at start.

use std::io::IsTerminal;
use std::sync::OnceLock;

use super::LogFormat;

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The log format chosen at start (text until [`init`] runs).
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or(LogFormat::Text)
}

/// Sets up the log subscriber and the error renderer. Errors wrap to the
/// terminal's width on a TTY and never wrap in logs, so CI logs keep
/// `file:line:col: message` on one line.
pub fn init(format: LogFormat, level: &str) {
    let _ = FORMAT.set(format);
    let tty = std::io::stderr().is_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new().terminal_links(false);
        Box::new(if tty { opts } else { opts.wrap_lines(false) }.build())
    }));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Prints a diagnostic once: with source snippets for people, or as one
/// JSON object (message, code, help, related findings) with `--log-format json`.
pub fn report(diagnostic: &dyn miette::Diagnostic, format: LogFormat) {
    match format {
        LogFormat::Text => {
            let mut out = String::new();
            let handler = miette::GraphicalReportHandler::new_themed(theme());
            let handler = if std::io::stderr().is_terminal() { handler } else { handler.with_width(usize::MAX) };
            match handler.render_report(&mut out, diagnostic) {
                Ok(()) => eprint!("{out}"),
                Err(_) => eprintln!("{diagnostic}"),
            }
        }
        LogFormat::Json => {
            let mut out = String::new();
            match miette::JSONReportHandler::new().render_report(&mut out, diagnostic) {
                Ok(()) => eprintln!("{out}"),
                Err(_) => eprintln!("{}", serde_json::json!({ "message": diagnostic.to_string() })),
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
        LogFormat::Text => eprintln!("{message}"),
        LogFormat::Json => tracing::info!("{message}"),
    }
}
