//! [`TusMockServer`]: the tus rules on wiremock, with every upload in memory, fault injection
//! and wiremock's request log.

mod builder;
mod faults;
mod operations;
mod responder;
mod server;
mod state;

pub use builder::TusMockServerBuilder;
pub use faults::{PatchAction, PatchContext, PatchHook};
pub use server::{TusMockServer, STATEFUL_MOCK_PRIORITY};
