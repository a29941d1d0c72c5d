//! The `topicform` binary: parse arguments, run, map the result to an exit
//! code: 0 success / in sync, 1 error (usage errors included), 2 changes
//! pending (`plan --detailed-exitcode`), 130 / 143 an apply stopped by
//! SIGINT / SIGTERM.

use std::process::ExitCode;

use clap::Parser;
mod cli;

use cli::{Cli, Outcome};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; a usage error is exit 1,
        // never 2, which CI reads as "changes pending".
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    let format = cli.global.log_format;
    let (telemetry, telemetry_warning) = cli::telemetry::start();
    cli::logging::init(format, &cli.global.log_level, telemetry.as_ref());
    if let Some(warning) = telemetry_warning {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(cli::run(cli));
    // A request abandoned by an interrupted apply may still sit in a
    // blocking thread for up to --timeout; the report is out, so do not
    // wait for it (a CI runner's SIGKILL would lose the exit code).
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    // Off the runtime (the exporters' own threads do the sending), after the
    // root span closed, within a bound: a collector that is down or hangs
    // costs a warning, never the exit code.
    if let Some(telemetry) = telemetry {
        if let Err(warning) = telemetry.shutdown(topicform::telemetry::FLUSH_BOUND) {
            tracing::warn!("{warning}");
        }
    }
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ChangesPending) => ExitCode::from(2),
        Err(e) => {
            cli::logging::report(&e, format);
            ExitCode::from(e.exit_code())
        }
    }
}
