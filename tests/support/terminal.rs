//! A command whose stdin is a terminal, as a person's shell gives it: a
//! pseudo-terminal from `openpty(3)`, its output (stdout and stderr) in a
//! file. The command is this process's own child, so a test signals exactly
//! it and reads its own exit status; through `script(1)` both went through
//! a second process, whose exit code and final output were not always the
//! command's.

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Terminal {
    child: Child,
    /// The terminal's other end: what is written here is typed.
    keyboard: File,
    output: PathBuf,
}

impl Terminal {
    /// Starts `command` with its stdin on a new pseudo-terminal and its
    /// stdout and stderr in `output`.
    pub fn spawn(mut command: Command, output: &Path) -> Terminal {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two descriptors into the two integers; the
        // optional name, termios and window size are not asked for.
        let opened =
            unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here alone.
        let (keyboard, screen) = unsafe { (File::from(OwnedFd::from_raw_fd(master)), OwnedFd::from_raw_fd(slave)) };
        let file = File::create(output).unwrap();
        let child = command
            .stdin(Stdio::from(screen))
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("the command starts");
        Terminal { child, keyboard, output: output.to_path_buf() }
    }

    /// What the command printed so far, after the secret scan.
    pub fn output(&self) -> String {
        let bytes = std::fs::read(&self.output).unwrap_or_default();
        super::secrets::assert_clean("a command on a terminal", &bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits until the output shows `text`.
    pub fn wait_for(&self, text: &str, limit: Duration) {
        let started = Instant::now();
        while !self.output().contains(text) {
            assert!(started.elapsed() < limit, "`{text}` not shown within {limit:?}:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the command is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Types `line` and Enter.
    pub fn type_line(&mut self, line: &str) {
        self.keyboard.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the command.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid; it has not been waited
        // for, so the pid is still its.
        let sent = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits up to `limit` for the command to end; returns its exit code
    /// (`None`: ended by a signal) and its output. Kills it past the limit.
    pub fn wait(mut self, limit: Duration) -> (Option<i32>, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), self.output());
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!("did not end within {limit:?}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the command (SIGKILL): a process that died.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Terminal {
    /// A test that failed half-way leaves no command behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
