//! `tusky serve` hands out upload URLs that say nothing about each other: on a shared machine
//! an upload URL is the only credential for the upload.

use crate::support::Sandbox;

#[tokio::test(flavor = "multi_thread")]
async fn serve_upload_ids_are_random_not_a_prefix_and_a_counter() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve().await;
    let endpoint = server.endpoint.clone();

    let mut ids = Vec::new();
    for (name, seed) in [("a.bin", 51), ("b.bin", 52), ("c.bin", 53)] {
        sandbox.file(name, 1000, seed);
        let out = sandbox.run(["upload", name, &endpoint]).await;
        out.expect_code(0);
        ids.push(out.stdout.trim().rsplit('/').next().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(id.len(), 32, "128 bits in hex: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    for pair in ids.windows(2) {
        let common = pair[0]
            .bytes()
            .zip(pair[1].bytes())
            .take_while(|(a, b)| a == b)
            .count();
        assert!(common < 8, "ids share a {common}-digit prefix: {pair:?}");
        let (a, b) = (
            u128::from_str_radix(&pair[0], 16).unwrap(),
            u128::from_str_radix(&pair[1], 16).unwrap(),
        );
        assert!(b.abs_diff(a) > u128::from(u32::MAX), "close ids: {pair:?}");
    }

    server.stop().await.expect_code(0);
}
