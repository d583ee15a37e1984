//! A model of a server that honours `Idempotency-Key` on creation POSTs, mounted over the mock
//! tus server: a POST that repeats the key of an earlier POST the server answered 201 gets
//! 201 with that POST's `Location` (the upload it created), not a new upload. Every other
//! request goes on to the mock. What the server answered earlier is read from the client's
//! [`Tap`] (which records the server's answer also when it then loses it for the client), so
//! the model only knows requests sent through that tap.

use tusky_mock_server::wiremock::{Match, Mock, Request, Respond, ResponseTemplate};
use tusky_mock_server::TusMockServer;

use super::requests::{header, tus_response};
use super::tap::Tap;

/// Mounts the model on `server` for the requests sent through `tap`.
pub async fn honour_idempotency_keys(server: &TusMockServer, tap: &Tap) {
    Mock::given(RepeatedKey(tap.clone()))
        .respond_with(RepeatedKey(tap.clone()))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
}

/// Matches a POST repeating a key the server answered 201 to, and answers it.
struct RepeatedKey(Tap);

impl RepeatedKey {
    /// Where the upload the first POST with `request`'s key created is.
    fn created(&self, request: &Request) -> Option<String> {
        if request.method.as_str() != "POST" {
            return None;
        }
        let key = header(request, "idempotency-key")?;
        self.0.log().into_iter().find_map(|exchange| {
            let repeated = exchange.idempotency_key.as_deref() == Some(key.as_str());
            (repeated && exchange.server_status == Some(201))
                .then_some(exchange.location)
                .flatten()
        })
    }
}

impl Match for RepeatedKey {
    fn matches(&self, request: &Request) -> bool {
        self.created(request).is_some()
    }
}

impl Respond for RepeatedKey {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match self.created(request) {
            Some(location) => tus_response(201).insert_header("Location", location.as_str()),
            None => tus_response(500),
        }
    }
}
