//! [`FileJobs`]: the server's file work in progress (the blocking threads writing uploads'
//! files), so that [`shutdown`](super::StreamingTusServer::shutdown) can wait for it: once it
//! returns, nothing of the stopped server touches the directory, and a server started on it
//! reads what the stopped one left.

use std::sync::Arc;

use tokio::sync::watch;

/// How many file jobs are running.
#[derive(Debug)]
pub(crate) struct FileJobs {
    running: watch::Sender<usize>,
}

impl Default for FileJobs {
    fn default() -> Self {
        FileJobs {
            running: watch::Sender::new(0),
        }
    }
}

impl FileJobs {
    /// Counts a job until the guard is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> FileJob {
        self.running.send_modify(|n| *n += 1);
        FileJob {
            jobs: Arc::clone(self),
        }
    }

    /// Resolves when no job is running.
    pub(crate) async fn finished(&self) {
        let mut running = self.running.subscribe();
        let _ = running.wait_for(|n| *n == 0).await;
    }
}

/// One running job; it ends when this is dropped.
#[derive(Debug)]
pub(crate) struct FileJob {
    jobs: Arc<FileJobs>,
}

impl Drop for FileJob {
    fn drop(&mut self) {
        self.jobs.running.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn finished_waits_for_every_job() {
        let jobs = Arc::new(FileJobs::default());
        jobs.finished().await;
        let (a, b) = (jobs.start(), jobs.start());
        let waiting = tokio::spawn({
            let jobs = Arc::clone(&jobs);
            async move { jobs.finished().await }
        });
        drop(a);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(b);
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("finished once the last job ended")
            .unwrap();
    }
}
