//! Resuming: a stored URL found by a later uploader, a parallel upload continued from its
//! partial uploads, and an upload continued by another process. Each test checks that nothing
//! the server holds is sent again and that the server ends with exactly the source's bytes.

mod parallel;
mod processes;
mod records;
