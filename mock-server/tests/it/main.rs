//! tusky-mock-server's integration tests, one binary: `tus` checks the stateful tus server rule
//! by rule with a raw HTTP client, `rules` runs one scenario list against both servers (the
//! mock and the streaming server), `streaming` what only the streaming server does, `fault_proxy` the TCP fault proxy against raw TCP servers.
//! What they share lives in `support`.

mod support;

mod fault_proxy;
mod rules;
mod streaming;
mod tus;
