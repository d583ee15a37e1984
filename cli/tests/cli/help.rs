//! `--help` everywhere, with examples; the exit codes in the help.

use crate::support::Sandbox;

#[tokio::test(flavor = "multi_thread")]
async fn every_command_has_help_with_examples() {
    let sandbox = Sandbox::new();
    for command in [
        None,
        Some("upload"),
        Some("status"),
        Some("list"),
        Some("forget"),
        Some("delete"),
        Some("serve"),
    ] {
        let args: Vec<&str> = command.into_iter().chain(["--help"]).collect();
        let out = sandbox.run(&args).await;
        out.expect_code(0);
        assert!(
            out.stdout.contains("Examples:"),
            "{args:?}:\n{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("Usage: tusky"),
            "{args:?}:\n{}",
            out.stdout
        );
    }
    for args in [vec!["--help"], vec!["upload", "--help"]] {
        let out = sandbox.run(&args).await;
        for code in ["0 ", "2 ", "3 ", "4 ", "5 ", "130 "] {
            assert!(
                out.stdout.contains(&format!("\n  {code}")),
                "exit code {code}in {args:?}:\n{}",
                out.stdout
            );
        }
    }
    // Every command that talks to a server says where -H headers go and takes the trust
    // options.
    for command in ["upload", "status", "delete", "list"] {
        let out = sandbox.run([command, "--help"]).await;
        for option in [
            "--cross-origin-headers",
            "--request-timeout <SECONDS>",
            "--ca-cert <FILE>",
        ] {
            assert!(out.stdout.contains(option), "{command}: {option}");
        }
    }
    let out = sandbox.run(["--version"]).await;
    out.expect_code(0);
    assert!(out.stdout.starts_with("tusky "));
}
