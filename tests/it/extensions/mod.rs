//! End-to-end tests of every tus extension tusky implements, against the stateful mock server
//! (and, where a server's answer has to be bent, wiremock mocks mounted over it). Each test
//! checks the bytes the server ends up holding, not only what tusky reports.

mod blocking;
mod checksum;
mod concatenation;
mod creation_with_upload;
mod defer_length;
mod expiration;
mod limits;
mod method_override;
mod termination;
