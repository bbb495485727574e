//! The billing calls of the lifecycle commands (and of `apply`'s updates and deletes) as
//! executor jobs — a read ([`Read`]), a renewal ([`Prolong`]), an edit ([`Edit`]), a list
//! action ([`Act`]) — and the [`Runner`] that runs a batch of them with progress. Every call
//! (reads included) gets the same retries, back-off, stop handling and events, and every
//! mutating call whose outcome is unknown is checked in the billing before it is sent again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::{Action, ApiError, BillingClient, ProlongInfo};
use crate::executor::{self, ErrorClass, Event, Job, JobResult, Outcome, Policy};
use crate::pace::Pacer;
use crate::plan::fleet::reached;
use crate::report::Ui;

/// What the executor does after a failed billing call (shared by every command).
pub fn classify(error: &ApiError) -> ErrorClass {
    super::retry::class_of(error)
}

/// True when a run was stopped: a fatal error, or jobs skipped because it was stopping.
pub fn stopped<O>(results: &[JobResult<O>]) -> bool {
    results.iter().any(|r| match &r.outcome {
        Outcome::Failed { class, .. } => *class == ErrorClass::Fatal,
        Outcome::Skipped { .. } => true,
        Outcome::Done(_) => false,
    })
}

/// How a batch of jobs is run.
pub struct Runner {
    /// Concurrency, retries, back-off.
    pub policy: Policy,
    /// Ctrl-C (or a test) stops dispatching.
    pub cancel: CancellationToken,
    /// The connection's pacer (the client takes each call's rate slot from it; the workers
    /// only wait out its cool-downs after a throttled answer).
    pub pacer: Arc<Pacer>,
}

impl Runner {
    /// Runs `jobs`; with a `label`, progress is shown on stderr.
    pub async fn run<J: Job>(
        &self,
        jobs: Vec<J>,
        label: Option<&str>,
    ) -> Vec<JobResult<J::Output>> {
        self.run_weighted(jobs, label, Vec::new()).await
    }

    /// Like [`Runner::run`], with progress counted in services: job `i` acts on
    /// `weights[i]` of them (empty: one each).
    pub async fn run_weighted<J: Job>(
        &self,
        jobs: Vec<J>,
        label: Option<&str>,
        weights: Vec<usize>,
    ) -> Vec<JobResult<J::Output>> {
        let (tx, rx) = mpsc::unbounded_channel::<Event>();
        let ui = label.map(|label| {
            let ui = Ui::new(jobs.len(), label);
            let ui = if weights.is_empty() {
                ui
            } else {
                ui.with_weights(weights)
            };
            tokio::spawn(ui.run(rx))
        });
        let results = executor::run(
            jobs,
            &self.policy,
            Arc::clone(&self.pacer),
            tx,
            self.cancel.clone(),
        )
        .await;
        if let Some(ui) = ui {
            // The display only ends early when its task panicked; the results stand anyway.
            let _ = ui.await;
        }
        results
    }
}

/// The call a [`Read`] job makes (boxed: one allocation per read is nothing next to a request).
type ReadCall<T> =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send>> + Send + Sync>;

/// A read-only call as an executor job (a renewal preview, an edit form): retried like
/// every call, never reconciled (sending it again changes nothing).
pub struct Read<T> {
    key: String,
    read: ReadCall<T>,
}

impl<T> Read<T> {
    /// A job for server `key` that makes `read` (called again for each attempt).
    pub fn new<F, Fut>(key: String, read: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        Self {
            key,
            read: Box::new(move || Box::pin(read())),
        }
    }
}

impl Read<crate::api::EditForm> {
    /// The price preview of an edit, keyed by `key`: service `id`'s `<type>.edit` form
    /// submitted with `params` and without `sok` (nothing changes).
    pub fn edit_preview(
        client: &BillingClient,
        key: String,
        item_type: String,
        id: String,
        params: Vec<(String, String)>,
    ) -> Self {
        let client = client.clone();
        Self::new(key, move || {
            let (client, item_type, id) = (client.clone(), item_type.clone(), id.clone());
            let params = params.clone();
            async move {
                let params: Vec<(&str, &str)> = params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                client.edit_quote(&item_type, &id, &params).await
            }
        })
    }
}

impl<T: Send + 'static> Job for Read<T> {
    type Output = T;
    type Error = ApiError;

    fn key(&self) -> &str {
        &self.key
    }

    async fn attempt(&self, _number: u32) -> Result<T, ApiError> {
        (self.read)().await
    }

    async fn reconcile(&self) -> Result<Option<T>, ApiError> {
        Ok(None)
    }

    fn classify(&self, error: &ApiError) -> ErrorClass {
        classify(error)
    }
}

/// `service.prolong` with `sok`: the paid renewal.
pub struct Prolong {
    /// The client.
    pub client: BillingClient,
    /// Server key.
    pub key: String,
    /// Item type (for the look-up after an unknown outcome).
    pub item_type: String,
    /// Service id.
    pub id: String,
    /// Months.
    pub period: u32,
    /// The expiry before the renewal.
    pub old_expiry: Option<String>,
    /// The expiry the preview announced.
    pub new_expiry: Option<String>,
}

impl Job for Prolong {
    type Output = ProlongInfo;
    type Error = ApiError;

    fn key(&self) -> &str {
        &self.key
    }

    async fn attempt(&self, _number: u32) -> Result<ProlongInfo, ApiError> {
        self.client.prolong(&self.id, self.period).await
    }

    /// Done when the listed expiry moved off the old one (to the announced one when known).
    async fn reconcile(&self) -> Result<Option<ProlongInfo>, ApiError> {
        let services = self.client.list_complete(&self.item_type).await?;
        let now = services
            .into_iter()
            .find(|s| s.id == self.id)
            .and_then(|s| s.expiredate);
        let moved = match (&now, &self.new_expiry, &self.old_expiry) {
            (Some(now), Some(new), _) => now == new,
            (Some(now), None, Some(old)) => now != old,
            _ => false,
        };
        Ok(moved.then(|| ProlongInfo {
            expiredate: self.old_expiry.clone(),
            new_expiredate: now,
            cost: None,
        }))
    }

    fn classify(&self, error: &ApiError) -> ErrorClass {
        classify(error)
    }
}

/// `<type>.edit` with `sok`: pushes changed fields.
pub struct Edit {
    /// The client.
    pub client: BillingClient,
    /// Server key.
    pub key: String,
    /// Item type.
    pub item_type: String,
    /// Service id.
    pub id: String,
    /// The fields to set and their values.
    pub params: Vec<(String, String)>,
}

impl Job for Edit {
    type Output = ();
    type Error = ApiError;

    fn key(&self) -> &str {
        &self.key
    }

    async fn attempt(&self, _number: u32) -> Result<(), ApiError> {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.client.edit(&self.item_type, &self.id, &params).await
    }

    /// Done when the form shows every pushed value.
    async fn reconcile(&self) -> Result<Option<()>, ApiError> {
        let form = self.client.edit_form(&self.item_type, &self.id).await?;
        let done = self.params.iter().all(|(k, v)| {
            crate::plan::drift::same_value(k, form.values.get(k).map(String::as_str), v)
        });
        Ok(done.then_some(()))
    }

    fn classify(&self, error: &ApiError) -> ErrorClass {
        classify(error)
    }
}

/// `<type>.suspend|resume|delete` on one or more services of one item type.
pub struct Act {
    /// The client.
    pub client: BillingClient,
    /// A key naming the batch (the first server's key, or `batch-N`).
    pub key: String,
    /// Item type.
    pub item_type: String,
    /// The action.
    pub action: Action,
    /// Service ids.
    pub ids: Vec<String>,
}

impl Job for Act {
    type Output = ();
    type Error = ApiError;

    fn key(&self) -> &str {
        &self.key
    }

    async fn attempt(&self, _number: u32) -> Result<(), ApiError> {
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        self.client.act(&self.item_type, self.action, &ids).await
    }

    /// Done when every service of the batch has the target status (a deleted service may
    /// also be gone from the list).
    async fn reconcile(&self) -> Result<Option<()>, ApiError> {
        let services = self.client.list_complete(&self.item_type).await?;
        let done = self
            .ids
            .iter()
            .all(|id| reached(self.action, services.iter().find(|s| &s.id == id)));
        Ok(done.then_some(()))
    }

    fn classify(&self, error: &ApiError) -> ErrorClass {
        classify(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ErrorKind;

    fn err(kind: ErrorKind, sent: bool, write: bool) -> ApiError {
        ApiError::new(kind, "vds.delete", sent, write)
    }

    #[test]
    fn classes_of_billing_errors() {
        let refused = ErrorKind::Refused {
            kind: "pricelist_min_order".into(),
            object: "1001".into(),
        };
        assert_eq!(classify(&err(refused, true, true)), ErrorClass::Permanent);
        assert_eq!(
            classify(&err(
                ErrorKind::InsufficientFunds {
                    required: None,
                    available: None
                },
                true,
                true
            )),
            ErrorClass::Fatal
        );
        assert_eq!(
            classify(&err(ErrorKind::Timeout, true, true)),
            ErrorClass::Unknown
        );
        assert_eq!(
            classify(&err(ErrorKind::Timeout, true, false)),
            ErrorClass::Retry
        );
        assert_eq!(
            classify(&err(ErrorKind::Transport, false, true)),
            ErrorClass::Retry
        );
        assert_eq!(
            classify(&err(ErrorKind::Busy, true, true)),
            ErrorClass::Retry
        );
        let throttled = ErrorKind::Throttled {
            retry_after: Some(std::time::Duration::from_secs(2)),
        };
        // After a write left, a 429/503 leaves the outcome unknown.
        assert_eq!(
            classify(&err(throttled.clone(), true, true)),
            ErrorClass::Unknown
        );
        assert_eq!(
            classify(&err(throttled, true, false)),
            ErrorClass::Throttle {
                after: Some(std::time::Duration::from_secs(2))
            }
        );
    }
}
