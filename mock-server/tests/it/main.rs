//! tusky-mock-server's integration tests, one binary: `tus` checks the stateful tus server rule
//! by rule with a raw HTTP client, `rules` runs one scenario list against every server (for now
//! the mock), `fault_proxy` the TCP fault proxy against raw TCP servers.
//! What they share lives in `support`.

mod support;

mod fault_proxy;
mod rules;
mod tus;
