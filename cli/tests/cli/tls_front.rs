//! A TLS front with a self-signed certificate, for tests of how the CLI treats certificates.

use std::path::PathBuf;

use crate::support::Sandbox;

#[path = "../../../tests/shared/tls_front.rs"]
mod shared;
pub use shared::{tls_front, tls_fronted_server, TEST_CERT_PEM};

/// Writes the test certificate into the sandbox (for `--ca-cert`) and returns its path.
pub fn write_test_cert(sandbox: &Sandbox) -> PathBuf {
    let path = sandbox.path().join("test-ca.pem");
    std::fs::write(&path, TEST_CERT_PEM).expect("write the test certificate");
    path
}
