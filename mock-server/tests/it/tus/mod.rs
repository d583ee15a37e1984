//! The tus server: the mock driven by a raw HTTP client (reqwest), one test per protocol rule,
//! asserting the status and what was (not) stored.

mod basics;
mod checksum;
mod concatenation;
mod creation;
mod defer_length;
mod expiration;
mod extensions;
mod faults;
mod head;
mod malformed;
mod overrides;
mod patch;
mod termination;
