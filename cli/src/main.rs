//! `tusky`: resumable file uploads over the tus 1.0 protocol, from the command line.
//!
//! ```text
//! tusky upload FILE                 # a LOCAL upload to the bundled server (the quick start)
//! tusky upload FILE|- ENDPOINT      # resumable upload to a tus server
//! tusky upload A B DIR/ ENDPOINT    # many files and directories, --jobs at once
//! tusky status FILE|URL             # the server's offset and length
//! tusky list [--check]              # stored (unfinished) uploads
//! tusky forget FILE|URL             # drop a stored record
//! tusky delete URL                  # terminate an upload on the server
//! tusky serve [--port P] [--dir D]  # the bundled tus server, for development
//! tusky gc [--check]                # prune expired and gone records from the store
//! ```
//!
//! `tusky --help` and `tusky <command> --help` list every option, examples and the exit codes.
#![warn(missing_docs)]

/// `println!` that ignores a closed stdout (`tusky ... | head -c0`) instead of panicking.
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that ignores a closed stderr instead of panicking.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod args;
mod connection;
mod failure;
mod gc;
mod header_command;
mod list;
mod localdata;
mod logging;
mod manage;
mod many;
mod report;
mod serve;
mod size;
mod store;
mod terminal_text;
mod upload;
mod upload_store;

use std::process::ExitCode;

use clap::Parser;
use tusky::CancellationToken;

use crate::args::{Cli, Command};
use crate::failure::{Exit, Failure};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and --version go to stdout with 0; usage errors to stderr with 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Ok.code()
            });
        }
    };
    logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tusky: error: starting the async runtime: {e}");
            return ExitCode::from(Exit::Other.code());
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for blocking tasks (stdin reads) that can never finish.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::from(Exit::Ok.code()),
        Err(failure) => {
            if failure.exit == Exit::Interrupted {
                eprintln!("tusky: {failure}");
            } else {
                eprintln!("tusky: error: {failure}");
            }
            ExitCode::from(failure.exit.code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let cancel = CancellationToken::new();
    tokio::spawn(stop_on_signals(cancel.clone()));
    match cli.command {
        Command::Upload(args) => upload::run(args, cancel).await,
        Command::Status(args) => until_cancelled(manage::status(args), &cancel).await,
        Command::List(args) => until_cancelled(list::list(args), &cancel).await,
        Command::Forget(args) => until_cancelled(manage::forget(args), &cancel).await,
        Command::Delete(args) => until_cancelled(manage::delete(args), &cancel).await,
        Command::Serve(args) => serve::run(args, cancel).await,
        Command::Gc(args) => until_cancelled(gc::gc(args), &cancel).await,
    }
}

/// Runs `command` until Ctrl-C or SIGTERM: then it is dropped (a store write still waiting for
/// the lock stops waiting and writes nothing; one under way completes or not at all).
async fn until_cancelled(
    command: impl std::future::Future<Output = Result<(), Failure>>,
    cancel: &CancellationToken,
) -> Result<(), Failure> {
    tokio::select! {
        result = command => result,
        () = cancel.cancelled() => Err(Failure::new(
            Exit::Interrupted,
            "interrupted (the URL store holds either all of a change or none of it)",
        )),
    }
}

/// The first Ctrl-C or SIGTERM cancels `cancel` (an upload stops and keeps its stored record);
/// a second one exits at once.
async fn stop_on_signals(cancel: CancellationToken) {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        #[cfg(unix)]
        let signalled = async {
            match terminate.as_mut() {
                Some(terminate) => {
                    tokio::select! {
                        r = tokio::signal::ctrl_c() => r.is_ok(),
                        r = terminate.recv() => r.is_some(),
                    }
                }
                None => tokio::signal::ctrl_c().await.is_ok(),
            }
        }
        .await;
        #[cfg(not(unix))]
        let signalled = tokio::signal::ctrl_c().await.is_ok();
        if !signalled {
            return;
        }
        if cancel.is_cancelled() {
            eprintln!("tusky: interrupted again; exiting now");
            std::process::exit(i32::from(Exit::Interrupted.code()));
        }
        cancel.cancel();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn failures_print_on_one_line() {
        let failure = crate::failure::Failure::usage("a\nb");
        assert_eq!(failure.to_string(), "a b");
    }
}
