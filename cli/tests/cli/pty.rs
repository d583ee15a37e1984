//! The progress bar, rendered in a pseudo-terminal (portable-pty), and the plain lines when
//! stderr is not a terminal.

use std::io::Read;
use std::time::Duration;

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use tusky::mock::{PatchAction, PatchContext, TusMockServer};

use crate::support::{Sandbox, TUSKY};

#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_gets_a_progress_bar_with_bytes_rate_and_eta() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("bar.bin", 2 * 1024 * 1024, 41);
    // Slow enough (16 PATCHes of 128 KiB, 150 ms each) for the bar to draw several times.
    server.set_patch_hook(|_: &PatchContext| PatchAction::Delay(Duration::from_millis(150)));

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 140,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut command = CommandBuilder::new(TUSKY);
    command.args([
        "upload",
        "bar.bin",
        &server.endpoint(),
        "--chunk-size",
        "128KiB",
    ]);
    command.cwd(sandbox.path());
    command.env("XDG_DATA_HOME", sandbox.path().join("data"));
    command.env("HOME", sandbox.path());
    command.env("TERM", "xterm-256color");
    command.env_remove("NO_COLOR");
    let mut child = pty
        .slave
        .spawn_command(command)
        .expect("spawn tusky in the pty");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    // Read everything on a thread (the child blocks if nobody reads the pty).
    let reading = std::thread::spawn(move || {
        let mut output = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break, // EOF / EIO once the child is gone
                Ok(n) => output.extend_from_slice(&buf[..n]),
            }
        }
        output
    });
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .expect("wait");
    drop(pty.master);
    let output = String::from_utf8_lossy(&reading.join().unwrap()).into_owned();
    assert!(status.success(), "exit {status:?}; output:\n{output}");
    // The bar: [====>   ] 1.25 MiB/2.00 MiB 62% 3.12 MiB/s ETA 1s
    assert!(output.contains("[="), "a bar is drawn:\n{output}");
    assert!(output.contains("/2.00 MiB"), "bytes of total:\n{output}");
    assert!(
        output.contains("MiB/s") || output.contains("KiB/s"),
        "a rate:\n{output}"
    );
    assert!(output.contains("ETA "), "an ETA:\n{output}");
    assert!(output.contains("100%"), "it ends full:\n{output}");
    assert!(output.contains("tusky: done: "), "{output}");
    // The URL is printed after the bar, on stdout (the same terminal here).
    assert!(output.contains(&server.uploads()[0].url), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_progress_is_plain_lines() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("lines.bin", 1024 * 1024, 42);
    let out = sandbox
        .run(["upload", "lines.bin", &server.endpoint(), "-c", "256KiB"])
        .await;
    out.expect_code(0);
    out.expect_stderr_contains("tusky: 1.0 MiB of 1.0 MiB (100%), ");
    assert!(
        !out.stderr.contains('\u{1b}'),
        "no escape sequences: {:?}",
        out.stderr
    );
}
