//! `tusky upload A B DIR/ ENDPOINT`: several files and directories, through the library's
//! [`Batch`](tusky::batch::Batch) — the jobs limit, resuming, completion records, shared
//! cancellation and each file's result are the library's; this module only says what the
//! arguments name ([`items`]), shows progress ([`progress`]) and tells each result and how the
//! command exits ([`outcome`]).

mod items;
mod outcome;
mod progress;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tusky::batch::Batch;
use tusky::CancellationToken;

use crate::args::UploadArgs;
use crate::connection::UserUrl;
use crate::failure::Failure;
use crate::report::{Mode, Tell};
use crate::upload::{
    client_for, open_store, report_json_failure, warn_about_options, warn_without_concatenation,
    UploadSettings,
};

use items::Found;
use outcome::Tally;
use progress::BatchReporter;

/// Uploads the files `paths` name to `endpoint`; `cancel` is cancelled on Ctrl-C/SIGTERM.
pub async fn run(
    args: &UploadArgs,
    paths: &[String],
    endpoint: &str,
    cancel: CancellationToken,
) -> Result<(), Failure> {
    let reporter = Arc::new(BatchReporter::new(Mode::detect(args.json)));
    let (batch, found, store) = match prepare(args, paths, endpoint, &reporter, cancel).await {
        Ok(prepared) => prepared,
        Err(failure) => {
            reporter.abandon();
            report_json_failure(args, &failure);
            return Err(failure);
        }
    };
    let started = Instant::now();
    let mut tally = Tally::new(found.items.len() + found.left.len(), args.json);
    for left in &found.left {
        tally.left(left, &reporter);
    }
    let mut run = match batch.run() {
        Ok(run) => run,
        Err(error) => {
            let failure = Failure::tus("starting the uploads", &error);
            report_json_failure(args, &failure);
            return Err(failure);
        }
    };
    while let Some(result) = run.next().await {
        tally.result(&result, &reporter);
    }
    reporter.finish();
    let seconds = started.elapsed().as_secs_f64();
    tally.conclude(seconds, store.as_deref(), &reporter)
}

/// The batch of uploads the arguments ask for, what they name, and the URL store's path.
async fn prepare(
    args: &UploadArgs,
    paths: &[String],
    endpoint: &str,
    reporter: &Arc<BatchReporter>,
    cancel: CancellationToken,
) -> Result<(Batch, Found, Option<PathBuf>), Failure> {
    let endpoint = UserUrl::parse("ENDPOINT", endpoint)?;
    let settings = UploadSettings::from_args(args)?;
    warn_about_options(args, false, &**reporter);
    let client = client_for(args, &endpoint)?;
    let found = items::expand(paths, &args.metadata).await?;
    let store = match args.no_resume {
        true => None,
        false => Some(open_store(
            args,
            Arc::clone(reporter) as Arc<dyn Tell>,
            &cancel,
        )?),
    };
    warn_without_concatenation(&client, args, true, &**reporter).await;
    let progress = Arc::clone(reporter);
    let batch = client
        .batch()
        .items(found.items.iter().cloned())
        .jobs(args.jobs as usize)
        .uploader(move |uploader| settings.apply(uploader))
        .fresh(args.fresh)
        .cancellation_token(cancel)
        .on_progress(move |event| progress.event(event));
    Ok(match store {
        Some((path, watched)) => (batch.storage(watched), found, Some(path)),
        None => (batch, found, None),
    })
}
