//! Idempotent creation (`idempotent_creation(true)`) end to end against the repo's two servers,
//! which both honour `Idempotency-Key` (mock-server/src/tus/idempotency.rs): a POST repeating a
//! key gets the upload the first POST with it made. Every creation POST and the final
//! concatenation POST carry a key, the same for every repeat of one creation, stored in the
//! record before a final POST is sent; a POST whose answer was lost is repeated with its key.
//!
//! Answers are lost after the server acted on the request ([`rig`]): the mock stores and then
//! answers 503, a `FaultProxy` in front of the streaming server cuts the answer off. Each
//! scenario ([`scenarios`]) also runs without the option, showing what the option is for: a
//! second, unused upload, a second final upload, or a failed upload. A client that sent no key,
//! or another key for a repeat, would make the server create twice, and the scenarios count
//! the uploads the server holds. What only one server shows is in [`on_the_mock`] (answers
//! given on cue: 409, 422, a gone upload) and [`on_the_streaming_server`] (its own 409).

mod on_the_mock;
mod on_the_streaming_server;
mod rig;
mod scenarios;

/// A module `$name` of one test per server, `mock` and `streaming`, each running
/// `scenarios::$scenario(&rig, $args...)` (`$name` alone: the scenario of that name).
macro_rules! on_both_servers {
    ($name:ident) => {
        on_both_servers!($name: $name);
    };
    ($name:ident: $scenario:ident $(, $arg:expr)*) => {
        mod $name {
            use super::rig::Rig;
            use super::scenarios;

            #[tokio::test]
            async fn mock() {
                scenarios::$scenario(&Rig::mock().await $(, $arg)*).await;
            }

            #[tokio::test]
            async fn streaming() {
                scenarios::$scenario(&Rig::streaming().await $(, $arg)*).await;
            }
        }
    };
}

on_both_servers!(a_lost_creation_answer_is_repeated_with_its_key);
on_both_servers!(without_the_option_a_lost_creation_answer_leaves_an_unused_upload);
on_both_servers!(a_lost_final_answer_is_repeated_with_its_key);
on_both_servers!(
    a_rerun_after_a_lost_final_answer_sends_the_same_key: a_rerun_after_a_lost_final_answer,
    true
);
on_both_servers!(
    without_the_option_a_rerun_makes_a_second_final_upload: a_rerun_after_a_lost_final_answer,
    false
);
