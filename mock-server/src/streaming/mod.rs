//! [`StreamingTusServer`]: the tus rules of [`crate::tus`] over hyper, every body streamed to
//! a file, every upload's info saved beside it.

mod accept;
mod body;
mod buffers;
mod builder;
mod concatenation;
mod file_jobs;
mod files;
mod handler;
mod host;
mod info_file;
mod registry;
mod response;
mod server;

pub use builder::StreamingTusServerBuilder;
pub use server::StreamingTusServer;
