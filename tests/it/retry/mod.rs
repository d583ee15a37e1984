//! The retry engine end to end against the mock tus server: what each failure means, the
//! attempt counter and retry policies, stall detection, progress events, cancellation, and
//! creation POSTs repeated with their `Idempotency-Key` (on the mock and the streaming server).
//! Every test checks the bytes the server ends up holding.

mod attempts;
mod cancellation;
mod classification;
mod idempotent_creation;
mod progress;
mod retry_after;
mod stall;
