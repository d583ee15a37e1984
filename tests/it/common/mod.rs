//! What the integration tests share, each in one place: test bytes ([`data`], [`noise`]), the
//! progress recorder ([`Events`]), the recording, fault-injecting transport ([`Tap`]), what a
//! server received and holds ([`header`], [`patch_shape`], [`stored`], ...), sources of unknown
//! length ([`Trickle`], [`pipe`]), real TCP failures ([`BreakingProxy`]), waiting for an
//! event instead of sleeping ([`wait_until`], [`shut_out`]).

mod breaking_proxy;
mod data;
#[path = "../../shared/endpoint_answering.rs"]
mod endpoint_answering;
mod events;
mod requests;
mod streams;
mod tap;
#[path = "../../shared/tls_front.rs"]
mod tls_front;
mod uploads;
mod wait;

pub use breaking_proxy::{refusing_port, Break, BreakingProxy};
pub use data::{data, data_file, noise, noise_file, temp_file};
pub use endpoint_answering::endpoint_answering;
pub use events::{cancel_when_acknowledged, Events};
pub use requests::{
    create_directly, finals, header, header_u64, is_for, partials, patch_directly, patch_shape,
    patches, posts, stored, tus_response, tus_sequence, upload_offset, with_method, HoldsUploads,
};
pub use streams::{pipe, Trickle};
pub use tap::{assert_resynced, nth, Condition, Exchange, Fault, Outcome, Tap};
pub use tls_front::{tls_fronted_server, TEST_CERT_PEM};
pub use uploads::{
    assert_no_records, client_for, created_upload, parallel_upload_of, patch_upload_of, reader_of,
    server_and_client, server_and_client_with, stored_keys, upload_cancelled_at, upload_error,
    upload_exactly, upload_of, upload_ok, Builder,
};
pub use wait::{shut_out, wait_until, RUN};

/// A retry delay short enough that tests do not wait for it.
pub const QUICK: std::time::Duration = std::time::Duration::from_millis(1);
