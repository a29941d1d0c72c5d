//! The `topicform` binary: parse arguments, set up logging, run, map the
//! result to an exit code (0 success / in sync, 1 error, 2 changes pending).

use std::process::ExitCode;

use clap::Parser;
use topicform::cli::{self, Cli, LogFormat, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = cli.global.log_format;
    install_error_renderer();
    init_logging(log_format, &cli.global.log_level);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(cli::run(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ChangesPending) => ExitCode::from(2),
        Err(e) => {
            report_error(e, log_format);
            ExitCode::from(1)
        }
    }
}

/// Prints the error once: with source snippets for people, or as one JSON
/// object (message, code, help, related findings) with `--log-format json`.
fn report_error(e: topicform::Error, format: LogFormat) {
    match format {
        LogFormat::Text => eprintln!("{:?}", miette::Report::new(e)),
        LogFormat::Json => {
            let mut out = String::new();
            match miette::JSONReportHandler::new().render_report(&mut out, &e) {
                Ok(()) => eprintln!("{out}"),
                Err(_) => eprintln!("{}", serde_json::json!({ "message": e.to_string() })),
            }
        }
    }
}

/// Errors wrap to the terminal's width on a TTY and never wrap in logs, so
/// CI logs keep `file:line:col: message` on one line.
fn install_error_renderer() {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new().terminal_links(false);
        Box::new(if tty { opts } else { opts.wrap_lines(false) }.build())
    }));
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
