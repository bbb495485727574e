//! Ordering: one paid order per declared server, as an executor [`Job`]: the journal intent before
//! each call, the call, the outcome after it. A domain refused as taken is first looked up in
//! this account's services (a list asked for after the refusal): held by this account, the
//! server `exists` and nothing moves; held by someone else, the server moves to the next free
//! sequence number (`on_collision: next`) or fails; unknown (a list not known complete), it
//! fails. An unknown outcome is looked up in the service list before anything is sent again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use crate::api::{ApiError, BillingClient, ErrorKind};
use crate::executor::{ErrorClass, Job, Journal, JournalError, Recorded};
use crate::manifest::OnCollision;
use crate::plan::OrderCall;

pub mod lists;
pub mod moves;
pub mod phases;
pub mod rows;

use self::lists::{Holder, ServiceLists, find_live, holder};
use self::moves::Allocator;

/// How often one server may move to another domain before it gives up.
const MAX_MOVES: u32 = 1000;

/// What a successful order (or a reconcile that found it) yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The new service's id, when the billing said or the list showed it.
    pub service_id: Option<String>,
    /// The server was found existing (its domain refused as taken by this account's own
    /// service), not ordered by this run.
    pub existed: bool,
}

/// Why an order job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The billing refused or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The journal could not be written: nothing more may be sent.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A list needed to decide was not known complete: nothing more is sent for this server.
    #[error("{0}")]
    Unsure(String),
    /// `on_collision: next`, but no free domain is left to move to.
    #[error("domain {domain} is taken and group `{group}` has no free domain to move to")]
    NoFreeDomain {
        /// The refused domain.
        domain: String,
        /// The group.
        group: String,
    },
}

/// What every order job of a run shares.
pub struct Ctx {
    /// The billing.
    pub client: BillingClient,
    /// The apply journal.
    pub journal: Journal,
    /// What to do when a domain is taken.
    pub on_collision: OnCollision,
    /// Free sequence numbers for moved servers.
    pub allocator: Allocator,
    /// Lists for reconciles.
    pub lists: ServiceLists,
}

/// One server to order, shared between its job and the code that reports on it.
pub struct Slot {
    /// `<group>-<seq>`.
    pub key: String,
    /// Name of the group.
    pub group: String,
    /// Position of the group in the manifest.
    pub group_index: usize,
    /// The billing's item type.
    pub item_type: String,
    /// The order call with the declared domain.
    pub call: OrderCall,
    // std mutexes: only read or replaced, never held across an await.
    domain: Mutex<Option<String>>,
    answered_at: Mutex<Option<Instant>>,
    calls: AtomicU32,
}

impl Slot {
    /// A server to order with `call`, starting at `domain`.
    pub fn new(
        key: String,
        group: String,
        group_index: usize,
        item_type: String,
        call: OrderCall,
        domain: Option<String>,
    ) -> Self {
        Self {
            key,
            group,
            group_index,
            item_type,
            call,
            domain: Mutex::new(domain),
            answered_at: Mutex::new(None),
            calls: AtomicU32::new(0),
        }
    }

    /// The domain the server has now (after any move).
    pub fn domain(&self) -> Option<String> {
        self.domain
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_domain(&self, domain: String) {
        *self.domain.lock().unwrap_or_else(|p| p.into_inner()) = Some(domain);
    }

    /// Order calls sent for this server.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The `remoteid` the order carries, if any.
    pub fn remoteid(&self) -> Option<&str> {
        self.call.get("remoteid")
    }

    fn answered_at(&self) -> Instant {
        self.answered_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(Instant::now)
    }

    /// The call for the current domain.
    fn current_call(&self, domain: Option<&str>) -> OrderCall {
        match domain {
            Some(d) if self.call.get("domain") != Some(d) => self.call.with_domain(d),
            _ => self.call.clone(),
        }
    }
}

/// The executor's job for one [`Slot`].
pub struct OrderJob {
    /// The server.
    pub slot: Arc<Slot>,
    /// What all jobs share.
    pub ctx: Arc<Ctx>,
}

fn domain_taken(error: &ApiError) -> bool {
    matches!(&error.kind, ErrorKind::Exists { object, .. } if object.eq_ignore_ascii_case("domain"))
}

/// What a domain refused as taken means for the server.
enum Taker {
    /// This account's live service holds it: the server exists.
    Ours(Placed),
    /// Someone else holds it.
    Other,
    /// Unknown: the list is not known complete.
    Unknown(String),
}

/// A failed send: the journal could not be written (nothing was sent), or the call failed
/// for the domain it was sent with.
enum SendError {
    Journal(JournalError),
    Api(ApiError, Option<String>),
}

impl OrderJob {
    /// Sends the order for the current domain once, with the journal intent before it.
    async fn send_once(&self, number: u32) -> Result<Placed, SendError> {
        let slot = &self.slot;
        let domain = slot.domain();
        let call = slot.current_call(domain.as_deref());
        let shown = domain.as_deref().unwrap_or_default();
        self.ctx
            .journal
            .record_intent(&slot.key, shown, &call.func, number)
            .map_err(SendError::Journal)?;
        slot.calls.fetch_add(1, Ordering::Relaxed);
        let params: Vec<(&str, &str)> = call.params().collect();
        let answer = self.ctx.client.order(&call.func, &params).await;
        // Only a list asked for after this point can show what the call did.
        *slot.answered_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        match answer {
            Ok(ack) => Ok(Placed {
                service_id: ack.service_id,
                existed: false,
            }),
            Err(e) => Err(SendError::Api(e, domain)),
        }
    }

    fn record(
        &self,
        outcome: Recorded,
        id: Option<&str>,
        domain: Option<&str>,
    ) -> Result<(), JobError> {
        let domain = domain.unwrap_or_default();
        Ok(self
            .ctx
            .journal
            .record_outcome(&self.slot.key, outcome, id, domain)?)
    }

    /// Who holds `domain`, refused as taken: looked up in a list asked for after the refusal.
    /// This account's live service there is this server: recorded as existing in the
    /// journal, never ordered again.
    async fn taker(&self, domain: Option<&str>) -> Result<Taker, JobError> {
        let slot = &self.slot;
        let Some(domain) = domain else {
            return Ok(Taker::Other);
        };
        let after = slot.answered_at();
        let listing = self.ctx.lists.since(&slot.item_type, after).await?;
        Ok(match holder(&listing, domain, slot.remoteid()) {
            Holder::Ours(found) => {
                tracing::info!(
                    "{}: domain {domain} is taken by this account's service {}; it exists",
                    slot.key,
                    found.id
                );
                self.record(Recorded::Ordered, Some(&found.id), Some(domain))?;
                Taker::Ours(Placed {
                    service_id: Some(found.id.clone()),
                    existed: true,
                })
            }
            Holder::Unknown(why) => Taker::Unknown(format!(
                "the {} list is not known to be complete ({why})",
                slot.item_type
            )),
            Holder::Other => Taker::Other,
        })
    }

    /// After the billing refused `domain` as taken: the next free domain, or why there is none.
    fn move_on(&self, domain: Option<String>, moves: u32) -> Result<(), JobError> {
        self.record(Recorded::Failed, None, domain.as_deref())?;
        let from = domain.unwrap_or_default();
        let next = (moves < MAX_MOVES)
            .then(|| self.ctx.allocator.next_domain(self.slot.group_index))
            .flatten();
        let Some(next) = next else {
            return Err(JobError::NoFreeDomain {
                domain: from,
                group: self.slot.group.clone(),
            });
        };
        tracing::info!(
            "{}: domain {from} is taken; moving to {next}",
            self.slot.key
        );
        self.slot.set_domain(next);
        Ok(())
    }
}

impl Job for OrderJob {
    type Output = Placed;
    type Error = JobError;

    fn key(&self) -> &str {
        &self.slot.key
    }

    async fn attempt(&self, number: u32) -> Result<Placed, JobError> {
        let mut moves = 0;
        loop {
            let (error, domain) = match self.send_once(number).await {
                Ok(placed) => {
                    let domain = self.slot.domain();
                    let id = placed.service_id.as_deref();
                    self.record(Recorded::Ordered, id, domain.as_deref())?;
                    return Ok(placed);
                }
                Err(SendError::Journal(e)) => return Err(e.into()),
                Err(SendError::Api(e, domain)) => (e, domain),
            };
            if domain_taken(&error) {
                match self.taker(domain.as_deref()).await? {
                    Taker::Ours(placed) => return Ok(placed),
                    Taker::Unknown(why) => {
                        self.record(Recorded::Failed, None, domain.as_deref())?;
                        return Err(JobError::Unsure(format!(
                            "{error}; whether this account holds it is unknown: {why}"
                        )));
                    }
                    Taker::Other if self.ctx.on_collision == OnCollision::Next => {
                        self.move_on(domain, moves)?;
                        moves += 1;
                        continue;
                    }
                    Taker::Other => {}
                }
            }
            // A definite refusal: nothing was ordered for that domain.
            if error.sent && !error.outcome_unknown() && !error.retryable() {
                self.record(Recorded::Failed, None, domain.as_deref())?;
            }
            return Err(error.into());
        }
    }

    async fn reconcile(&self) -> Result<Option<Placed>, JobError> {
        let slot = &self.slot;
        let services = self
            .ctx
            .lists
            .since(&slot.item_type, slot.answered_at())
            .await?;
        let domain = slot.domain();
        let Some(found) = find_live(&services.services, slot.remoteid(), domain.as_deref()) else {
            return match &services.gap {
                Some(why) => Err(JobError::Unsure(format!(
                    "the {} list is not known to be complete ({why}), so whether the order \
                     landed is unknown; nothing is sent again",
                    slot.item_type
                ))),
                None => {
                    // Checked absent: close the intent, so a rerun stopped right here does not
                    // take the call for unfinished.
                    self.record(Recorded::Failed, None, domain.as_deref())?;
                    Ok(None)
                }
            };
        };
        tracing::info!(
            "{}: found as service {} after an unknown outcome",
            slot.key,
            found.id
        );
        self.record(Recorded::Ordered, Some(&found.id), domain.as_deref())?;
        Ok(Some(Placed {
            service_id: Some(found.id.clone()),
            existed: false,
        }))
    }

    fn classify(&self, error: &JobError) -> ErrorClass {
        match error {
            JobError::Journal(_) => ErrorClass::Fatal,
            JobError::NoFreeDomain { .. } | JobError::Unsure(_) => ErrorClass::Permanent,
            JobError::Api(e) => classify_api(e),
        }
    }
}

/// What the executor does after a failed billing call: a taken domain is the collision
/// policy's business (never a blind retry); everything else as for every command.
pub fn classify_api(e: &ApiError) -> ErrorClass {
    if domain_taken(e) {
        ErrorClass::Permanent
    } else {
        crate::executor::retry::class_of(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_map_to_executor_classes() {
        let err = |kind, sent, write| ApiError::new(kind, "vds.order.param", sent, write);
        let taken = ErrorKind::Exists {
            object: "domain".into(),
            value: None,
        };
        let after = Some(std::time::Duration::from_secs(1));
        let cases = [
            (
                err(
                    ErrorKind::InsufficientFunds {
                        required: None,
                        available: None,
                    },
                    true,
                    true,
                ),
                ErrorClass::Fatal,
            ),
            (err(taken, true, true), ErrorClass::Permanent),
            (err(ErrorKind::Timeout, true, true), ErrorClass::Unknown),
            (err(ErrorKind::Transport, false, true), ErrorClass::Retry),
            // A 429/503 after a paid call left: only a billing error proves a refusal.
            (
                err(ErrorKind::Throttled { retry_after: after }, true, true),
                ErrorClass::Unknown,
            ),
            (
                err(ErrorKind::Throttled { retry_after: after }, false, true),
                ErrorClass::Throttle { after },
            ),
            (err(ErrorKind::Busy, true, true), ErrorClass::Retry),
            (
                err(
                    ErrorKind::InvalidValue {
                        object: "addon_10".into(),
                    },
                    true,
                    true,
                ),
                ErrorClass::Permanent,
            ),
        ];
        for (error, class) in cases {
            assert_eq!(classify_api(&error), class, "{error}");
        }
    }
}
