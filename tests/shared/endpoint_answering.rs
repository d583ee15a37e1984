//! A tus endpoint whose creation answer the test chooses. Shared by the library's integration
//! tests (`tests/it`) and the CLI's (`cli/tests/cli`), which include this file with `#[path]`.

use tusky::mock::wiremock::matchers::method;
use tusky::mock::wiremock::{Mock, MockServer, ResponseTemplate};

/// A plain wiremock server that answers OPTIONS as a tus server offering only `creation`, and
/// POST with `post`: an endpoint whose creation answer (its `Location`, say) the test chooses.
pub async fn endpoint_answering(post: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("OPTIONS"))
        .respond_with(
            ResponseTemplate::new(204)
                .insert_header("Tus-Resumable", "1.0.0")
                .insert_header("Tus-Version", "1.0.0")
                .insert_header("Tus-Extension", "creation"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(post)
        .mount(&server)
        .await;
    server
}
