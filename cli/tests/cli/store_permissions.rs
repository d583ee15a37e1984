//! The URL store holds upload URLs, which many servers accept as bearer credentials: the data
//! directory is private (0700) and so are the store and its lock file (0600), from the first
//! write and after every rewrite.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tusky::mock::TusMockServer;

use crate::support::{finish, Sandbox};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn the_data_directory_and_the_url_store_are_private() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("f.bin", 100_000, 11);
    let upload = || sandbox.tusky_with_umask_022(["upload", "f.bin", &server.endpoint()]);
    finish(upload()).await.expect_code(0);

    let store = sandbox.default_store();
    let lock = sandbox.data_dir().join("uploads.json.lock");
    assert_eq!(mode(&sandbox.data_dir()), 0o700, "the data directory");
    assert_eq!(mode(&store), 0o600, "the store");
    assert_eq!(mode(&lock), 0o600, "its lock file");

    // A store left readable by everyone (by an older tusky) is private again after a rewrite.
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    finish(upload()).await.expect_code(0);
    assert_eq!(mode(&store), 0o600, "the rewritten store");

    // A LOCAL upload's directory lives in the data directory, private too.
    finish(sandbox.tusky_with_umask_022(["upload", "f.bin"]))
        .await
        .expect_code(0);
    assert_eq!(mode(&sandbox.data_dir().join("local")), 0o700);
}
