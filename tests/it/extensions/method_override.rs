//! `X-HTTP-Method-Override`: PATCH and DELETE travel as POST.

use std::io::Cursor;

use tusky::Client;
use tusky_mock_server::TusMockServer;

use crate::common::{data, header, is_for, patch_upload_of, upload_exactly, upload_offset};

#[tokio::test]
async fn patch_and_delete_go_out_as_post_with_the_override_header() {
    let server = TusMockServer::start().await;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .method_override(true)
        .build()
        .unwrap();
    let bytes = data(25_000);
    let (_uploader, _summary) =
        upload_exactly(&server, patch_upload_of(&client, &bytes, 10_000), &bytes).await;

    let mut doomed = client
        .uploader()
        .reader(Cursor::new(data(100)))
        .creation_with_upload(false)
        .build()
        .unwrap();
    doomed.upload_until(50).await.unwrap();
    doomed.terminate().await.unwrap();
    assert!(
        server
            .upload(doomed.url().unwrap().as_str())
            .unwrap()
            .terminated
    );

    let requests = server.received_requests().await;
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert!(
        !methods.iter().any(|m| *m == "PATCH" || *m == "DELETE"),
        "{methods:?}"
    );
    let overridden = |name: &str| -> Vec<_> {
        requests
            .iter()
            .filter(|r| header(r, "x-http-method-override").as_deref() == Some(name))
            .collect()
    };
    let patches = overridden("PATCH");
    assert_eq!(patches.len(), 4, "3 for the first upload, 1 for the second");
    for patch in &patches {
        assert_eq!(patch.method.as_str(), "POST");
        assert!(upload_offset(patch).is_some());
    }
    let deletes = overridden("DELETE");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].method.as_str(), "POST");
    assert!(is_for(deletes[0], doomed.url().unwrap().as_str()));
}
