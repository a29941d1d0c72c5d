//! Terminal helpers: colour decisions, confirmation and progress.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use topicform::apply::{NoProgress, Progress};
use topicform::{Error, Result};

fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Colour on stdout: a terminal and no NO_COLOR.
pub fn stdout_color() -> bool {
    color_allowed() && std::io::stdout().is_terminal()
}

/// Colour on stderr: a terminal and no NO_COLOR.
pub fn stderr_color() -> bool {
    color_allowed() && std::io::stderr().is_terminal()
}

/// Asks for `yes` on the terminal. Without a terminal, refuses: a CI job must
/// say --auto-approve explicitly.
pub fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::NeedsApproval);
    }
    eprint!("{question} Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|_| Error::Cancelled)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Cancelled)
    }
}

/// A spinner on stderr while waiting for the cluster (TTY only); it clears
/// itself when dropped.
pub fn spinner(message: &'static str) -> Option<SpinnerGuard> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(message);
    pb.enable_steady_tick(Duration::from_millis(100));
    Some(SpinnerGuard(pb))
}

/// Clears the spinner on drop.
pub struct SpinnerGuard(ProgressBar);

impl Drop for SpinnerGuard {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, phase: &str, total: usize) {
        self.0.reset();
        self.0.set_length(total as u64);
        self.0.set_message(phase.to_owned());
    }
    fn advance(&self, n: usize) {
        self.0.inc(n as u64);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A progress bar on a TTY, nothing otherwise.
pub fn progress() -> Box<dyn Progress> {
    if !std::io::stderr().is_terminal() {
        return Box::new(NoProgress);
    }
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg:20} [{bar:40}] {pos}/{len}").expect("valid template").progress_chars("=> "),
    );
    Box::new(Bar(pb))
}
