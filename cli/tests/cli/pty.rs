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

    let endpoint = server.endpoint();
    let (status, output) = in_pty(
        &sandbox,
        &["upload", "bar.bin", &endpoint, "--chunk-size", "128KiB"],
    )
    .await;
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

/// Runs `tusky ARGS` in the sandbox with a pseudo-terminal as its stdout and stderr; returns
/// its exit status and everything it wrote.
async fn in_pty(sandbox: &Sandbox, args: &[&str]) -> (portable_pty::ExitStatus, String) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 140,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut command = CommandBuilder::new(TUSKY);
    command.args(args);
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
    (status, output)
}

#[tokio::test(flavor = "multi_thread")]
async fn many_files_get_one_bar_for_all_with_the_files_in_flight_under_it() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    std::fs::create_dir(sandbox.path().join("dir")).unwrap();
    for (i, name) in ["dir/first.bin", "dir/second.bin", "dir/third.bin"]
        .into_iter()
        .enumerate()
    {
        sandbox.file(name, 1024 * 1024, 50 + i as u64);
    }
    // Slow enough (8 PATCHes of 128 KiB per file, 100 ms each) for the bars to draw.
    server.set_patch_hook(|_: &PatchContext| PatchAction::Delay(Duration::from_millis(100)));
    let endpoint = server.endpoint();
    let args = ["upload", "dir", &endpoint, "-c", "128KiB", "-j", "2"];
    let (status, output) = in_pty(&sandbox, &args).await;
    assert!(status.success(), "exit {status:?}; output:\n{output}");
    assert!(
        output.contains("/3.00 MiB"),
        "the total of every file:\n{output}"
    );
    assert!(output.contains("0/3 files"), "files done of all:\n{output}");
    assert!(output.contains("3/3 files"), "{output}");
    for name in ["dir/first.bin", "dir/second.bin", "dir/third.bin"] {
        assert!(output.contains(name), "a bar for {name}:\n{output}");
    }
    assert!(
        output.contains("/1.00 MiB"),
        "a file's bytes of its size:\n{output}"
    );
    assert!(output.contains("3 files: 3 uploaded"), "{output}");
    for upload in server.uploads() {
        assert!(output.contains(&upload.url), "{output}");
    }
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
