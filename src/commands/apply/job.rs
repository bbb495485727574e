//! One paid order per declared server, as an executor [`Job`]: the journal intent before
//! each call, the call, the outcome after it; a domain refused as taken moves the server to
//! the next free sequence number (`on_collision: next`); an unknown outcome is looked up in
//! the service list before anything is sent again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use crate::api::{ApiError, BillingClient, ErrorKind, Service};
use crate::executor::{ErrorClass, Job, Journal, JournalError, Recorded};
use crate::manifest::OnCollision;
use crate::manifest::pattern::DomainPattern;
use crate::plan::OrderCall;

/// How often one server may move to another domain before it gives up.
const MAX_MOVES: u32 = 1000;

/// What a successful order (or a reconcile that found it) yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Placed {
    /// The new service's id, when the billing said or the list showed it.
    pub service_id: Option<String>,
}

/// Why an order job failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum JobError {
    /// The billing refused or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The journal could not be written: nothing more may be sent.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// `on_collision: next`, but no free domain is left to move to.
    #[error("domain {domain} is taken and group `{group}` has no free domain to move to")]
    NoFreeDomain {
        /// The refused domain.
        domain: String,
        /// The group.
        group: String,
    },
}

/// A live service (ordered, active, suspended or processing).
pub(super) fn is_live(service: &Service) -> bool {
    matches!(service.status, 1 | 2 | 3 | 5)
}

/// The live service of `services` that is this server: by remoteid, else by exact domain.
pub(super) fn find_live<'a>(
    services: &'a [Service],
    remoteid: Option<&str>,
    domain: Option<&str>,
) -> Option<&'a Service> {
    let live = || services.iter().filter(|s| is_live(s));
    remoteid
        .and_then(|r| live().find(|s| s.remoteid.as_deref() == Some(r)))
        .or_else(|| {
            let domain = domain?;
            live().find(|s| {
                s.domain
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(domain))
            })
        })
}

/// Hands out the next free sequence numbers after each group's range, for servers whose
/// domain is taken. Domains already used (by live services, declared servers, the journal
/// or earlier moves) are skipped.
pub(super) struct Allocator {
    groups: Vec<GroupSeqs>,
    // A std mutex: held only to check and insert, never across an await.
    used: Mutex<HashSet<String>>,
}

struct GroupSeqs {
    name: String,
    pattern: Option<DomainPattern>,
    next: AtomicU64,
}

impl Allocator {
    /// Groups as `(name, pattern, first seq after the range)`, and the domains already used.
    pub(super) fn new(
        groups: Vec<(String, Option<DomainPattern>, u64)>,
        used: HashSet<String>,
    ) -> Self {
        let groups = groups
            .into_iter()
            .map(|(name, pattern, next)| GroupSeqs {
                name,
                pattern: pattern.filter(DomainPattern::has_seq),
                next: AtomicU64::new(next),
            })
            .collect();
        Self {
            groups,
            used: Mutex::new(used),
        }
    }

    /// The next free domain of group `index`, or `None` when its pattern cannot move.
    pub(super) fn next_domain(&self, index: usize) -> Option<String> {
        let group = self.groups.get(index)?;
        let pattern = group.pattern.as_ref()?;
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..MAX_MOVES * 10 {
            let seq = group.next.fetch_add(1, Ordering::Relaxed);
            let domain = pattern.expand(&group.name, seq);
            if used.insert(domain.to_ascii_lowercase()) {
                return Some(domain);
            }
        }
        None
    }
}

/// The service lists of a run, shared by every reconcile: a look-up reuses a list only when
/// that list was asked for after the answer (or failure) of the call being checked (so a reconcile never misses
/// an order that did land), and concurrent look-ups share one list call.
pub(super) struct ServiceLists {
    client: BillingClient,
    // A tokio mutex: held across the list call, so concurrent reconciles wait for one list.
    cache: tokio::sync::Mutex<HashMap<String, Listed>>,
}

/// A list of one item type and when it was asked for.
type Listed = (Instant, Arc<Vec<Service>>);

impl ServiceLists {
    /// Lists through `client`.
    pub(super) fn new(client: BillingClient) -> Self {
        Self {
            client,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The services of `item_type` as listed by a call made after `after`.
    pub(super) async fn since(
        &self,
        item_type: &str,
        after: Instant,
    ) -> Result<Arc<Vec<Service>>, ApiError> {
        let mut cache = self.cache.lock().await;
        if let Some((asked, services)) = cache.get(item_type)
            && *asked >= after
        {
            return Ok(Arc::clone(services));
        }
        let asked = Instant::now();
        let services = Arc::new(self.client.list_services(item_type).await?);
        cache.insert(item_type.to_owned(), (asked, Arc::clone(&services)));
        Ok(services)
    }
}

/// What every order job of a run shares.
pub(super) struct Ctx {
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
pub(super) struct Slot {
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
    pub(super) fn new(
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
    pub(super) fn domain(&self) -> Option<String> {
        self.domain
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_domain(&self, domain: String) {
        *self.domain.lock().unwrap_or_else(|p| p.into_inner()) = Some(domain);
    }

    /// Order calls sent for this server.
    pub(super) fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The `remoteid` the order carries, if any.
    pub(super) fn remoteid(&self) -> Option<&str> {
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
pub(super) struct OrderJob {
    /// The server.
    pub slot: Arc<Slot>,
    /// What all jobs share.
    pub ctx: Arc<Ctx>,
}

fn domain_taken(error: &ApiError) -> bool {
    matches!(&error.kind, ErrorKind::Exists { object, .. } if object.eq_ignore_ascii_case("domain"))
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
            if domain_taken(&error) && self.ctx.on_collision == OnCollision::Next {
                self.move_on(domain, moves)?;
                moves += 1;
                continue;
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
        let Some(found) = find_live(&services, slot.remoteid(), domain.as_deref()) else {
            return Ok(None);
        };
        tracing::info!(
            "{}: found as service {} after an unknown outcome",
            slot.key,
            found.id
        );
        self.record(Recorded::Ordered, Some(&found.id), domain.as_deref())?;
        Ok(Some(Placed {
            service_id: Some(found.id.clone()),
        }))
    }

    fn classify(&self, error: &JobError) -> ErrorClass {
        match error {
            JobError::Journal(_) => ErrorClass::Fatal,
            JobError::NoFreeDomain { .. } => ErrorClass::Permanent,
            JobError::Api(e) => classify_api(e),
        }
    }
}

/// What the executor does after a failed billing call.
pub(super) fn classify_api(e: &ApiError) -> ErrorClass {
    if e.is_fatal() {
        ErrorClass::Fatal
    } else if domain_taken(e) {
        ErrorClass::Permanent
    } else if e.outcome_unknown() {
        ErrorClass::Unknown
    } else if let ErrorKind::Throttled { retry_after } = e.kind {
        ErrorClass::Throttle { after: retry_after }
    } else if e.retryable() {
        ErrorClass::Retry
    } else {
        ErrorClass::Permanent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(id: &str, domain: &str, remoteid: Option<&str>, status: u8) -> Service {
        Service {
            id: id.into(),
            domain: Some(domain.into()),
            remoteid: remoteid.map(Into::into),
            status,
            ..Service::default()
        }
    }

    #[test]
    fn moves_skip_used_and_handed_out_domains() {
        let pattern = DomainPattern::parse("web-{seq:03}.example.com").ok();
        let fixed = DomainPattern::parse("one.example.com").ok();
        let used = HashSet::from(["web-011.example.com".to_owned()]);
        let alloc = Allocator::new(
            vec![("web".into(), pattern, 10), ("one".into(), fixed, 2)],
            used,
        );
        let got: Vec<_> = (0..3).map(|_| alloc.next_domain(0)).collect();
        assert_eq!(
            got,
            [
                Some("web-010.example.com".to_owned()),
                Some("web-012.example.com".to_owned()),
                Some("web-013.example.com".to_owned())
            ]
        );
        assert_eq!(
            alloc.next_domain(1),
            None,
            "a pattern without {{seq}} cannot move"
        );
        assert_eq!(alloc.next_domain(7), None);
    }

    #[test]
    fn live_services_match_by_remoteid_then_domain() {
        let services = [
            service("1", "a.example.com", Some("web-1"), 4),
            service("2", "A.example.com", None, 2),
            service("3", "b.example.com", Some("web-2"), 5),
        ];
        let id = |r, d| find_live(&services, r, d).map(|s| s.id.as_str());
        assert_eq!(id(Some("web-2"), Some("a.example.com")), Some("3"));
        assert_eq!(
            id(Some("web-1"), Some("a.example.com")),
            Some("2"),
            "deleted ones do not count"
        );
        assert_eq!(id(None, Some("c.example.com")), None);
    }

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
                err(ErrorKind::InsufficientFunds, true, true),
                ErrorClass::Fatal,
            ),
            (err(taken, true, true), ErrorClass::Permanent),
            (err(ErrorKind::Timeout, true, true), ErrorClass::Unknown),
            (err(ErrorKind::Transport, false, true), ErrorClass::Retry),
            (
                err(ErrorKind::Throttled { retry_after: after }, true, true),
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
