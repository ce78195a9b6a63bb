//! Asks the carriers that have no push (Canada Post, Chit Chats) where
//! their parcels in flight are, on a schedule. Per carrier and run:
//! - the parcels due, the longest waiting first (a new one has never been
//!   checked, so it goes first);
//! - as many calls as the carrier's budget allows: a token bucket kept
//!   between runs, so no window of the carrier's length ever holds more
//!   calls than its stated limit, however often the poller runs;
//! - a rate-limit answer stops the carrier until its `Retry-After` (a
//!   minute when it gives none), and three failures in a row stop it with
//!   a doubling backoff; the parcels not asked keep their place and the
//!   next run resumes with them;
//! - new events go to the shipment through the same path as pushed ones
//!   (`take_in_reports`), with the answer that brought them archived for
//!   audit; a checked parcel is due again after the polling interval.
//!
//! The function runs with reserved concurrency 1 (one run at a time), and
//! each run is recorded (`JobRuns`) and counted as EMF metrics.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use futures::future::join_all;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use shopflow_couriers::canada_post::TrackAnswer;
use shopflow_couriers::{ParcelNews, ParseError, canada_post, chit_chats};
use shopflow_domain::{Actor, Budget, Carrier, RateLimit, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{config, now};
use shopflow_ports::{
    CarrierAnswer, InlineArchive, JobRun, JobRuns, KeptBudget, ObjectArchive, PollEntry,
    PollingSchedule, RawPayload, RunSummary, ShipmentStore, StoreError, TrackingApi,
    TrackingOutcome, archive, take_in_reports,
};
use shopflow_signed_s3::SignedBucket;
use shopflow_ssm::SsmSecrets;
use shopflow_tracking_apis::{CanadaPostAccess, CarrierApis, ChitChatsAccess};
use std::time::{Duration, Instant};

pub const FUNCTION: &str = "courier-poller";
const ACTOR: Actor = Actor::System(FUNCTION);

/// Parcels read from a carrier's schedule per run at most.
const MAX_DUE: u16 = 1_000;
/// Failures in a row (no answer, 5xx) after which a carrier is left alone.
const FAILURES_TO_STOP: u32 = 3;
/// Attempts at saving a budget another run saved meanwhile.
const BUDGET_ATTEMPTS: u32 = 5;

/// How the poller paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollSettings {
    /// The carriers to poll (those the shop has accounts with).
    pub carriers: Vec<Carrier>,
    /// How long after a check a parcel is due again.
    pub interval: Duration,
    /// Calls in flight at once, per carrier.
    pub concurrency: usize,
    /// No new calls are started after this long; the rest wait for the
    /// next run.
    pub time_budget: Duration,
}

impl PollSettings {
    pub fn from(env: &impl config::Source) -> Result<Self, ConfigError> {
        let carriers = config::optional(env, "POLLED_CARRIERS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                Carrier::parse(name)
                    .filter(|carrier| RateLimit::of(*carrier).is_some())
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "POLLED_CARRIERS",
                        reason: format!("{name} is not a carrier that is polled"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let minutes: u64 = config::parsed_or(env, "POLL_INTERVAL_MINUTES", 60)?;
        let concurrency: usize = config::parsed_or(env, "POLL_CONCURRENCY", 8)?;
        if !(1..=1_440).contains(&minutes) || !(1..=64).contains(&concurrency) {
            return Err(ConfigError::Invalid {
                name: "POLL_INTERVAL_MINUTES",
                reason: "the interval must be 1 to 1440 minutes and the concurrency 1 to 64".into(),
            });
        }
        Ok(Self {
            carriers,
            interval: Duration::from_secs(minutes * 60),
            concurrency,
            time_budget: Duration::from_secs(config::parsed_or(env, "POLL_TIME_BUDGET_SECS", 45)?),
        })
    }
}

pub struct App<S, O, A> {
    store: S,
    objects: O,
    api: A,
    settings: PollSettings,
}

/// courier-poller as deployed: the table, the raw-payload bucket, and the
/// carriers' APIs with their credentials from SSM.
pub type Deployed = App<DynamoStore, SignedBucket, CarrierApis<SsmSecrets>>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        let settings = PollSettings::from(env)?;
        let polled = |carrier| settings.carriers.contains(&carrier);
        let canada_post = polled(Carrier::CanadaPost)
            .then(|| -> Result<_, ConfigError> {
                Ok(CanadaPostAccess {
                    base_url: config::required(env, "CANADA_POST_API_BASE")?,
                    credentials_parameter: config::required(
                        env,
                        "CANADA_POST_CREDENTIALS_PARAMETER",
                    )?,
                })
            })
            .transpose()?;
        let chit_chats = polled(Carrier::ChitChats)
            .then(|| -> Result<_, ConfigError> {
                Ok(ChitChatsAccess {
                    base_url: config::required(env, "CHIT_CHATS_API_BASE")?,
                    client_id: config::parsed_or(env, "CHIT_CHATS_CLIENT_ID", 0)?,
                    token_parameter: config::required(env, "CHIT_CHATS_TOKEN_PARAMETER")?,
                })
            })
            .transpose()?;
        if chit_chats
            .as_ref()
            .is_some_and(|access| access.client_id == 0)
        {
            return Err(ConfigError::Invalid {
                name: "CHIT_CHATS_CLIENT_ID",
                reason: "Chit Chats is polled, so its client id is required".into(),
            });
        }
        let api = CarrierApis::new(
            SsmSecrets::from_config(&shared.aws.ssm),
            canada_post,
            chit_chats,
        )
        .map_err(|error| ConfigError::Invalid {
            name: "POLLED_CARRIERS",
            reason: format!("the carriers' HTTP client: {error}"),
        })?;
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            SignedBucket::from_config(
                &shared.aws.s3,
                &config::required(env, "RAW_PAYLOAD_BUCKET")?,
            )
            .map_err(|error| ConfigError::Invalid {
                name: "RAW_PAYLOAD_BUCKET",
                reason: error.to_string(),
            })?,
            api,
            settings,
        ))
    }
}

impl EventFunction<serde_json::Value> for Deployed {
    type Answer = PollReport;

    fn serve(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> impl std::future::Future<Output = Result<PollReport, Error>> + Send {
        self.handle(event)
    }
}

/// What one run did, per carrier; returned to the invoker, logged and recorded.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PollReport {
    pub carriers: Vec<CarrierRun>,
    /// Errors over every carrier, as every scheduled job reports them.
    pub failed: u64,
}

/// What one run did with one carrier.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CarrierRun {
    pub carrier: String,
    /// Parcels due when the run started.
    pub due: u64,
    /// Calls the budget allowed.
    pub granted: u64,
    /// Calls made.
    pub calls: u64,
    /// Parcels whose answer brought new events, and how many.
    pub parcels_with_news: u64,
    pub events_added: u64,
    /// Parcels the carrier has not scanned yet (Canada Post's 004).
    pub not_scanned_yet: u64,
    /// Failed calls (no answer, 5xx), refusals, unreadable answers, and
    /// store failures.
    pub errors: u64,
    /// The carrier answered "too many requests".
    pub rate_limited: bool,
    /// When the carrier may be called again, when it is to be left alone.
    pub blocked_until: Option<String>,
    /// Parcels were left due: out of budget, time, or stopped.
    pub cut_short: bool,
}

/// What asking about one parcel came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Polled {
    News {
        added: u64,
    },
    NothingNew,
    NotScannedYet,
    /// Its shipment's journey is over, or there is no shipment.
    Left,
    /// The carrier said to stop, maybe saying for how long.
    RateLimited(Option<u64>),
    /// No answer, or a server error: the parcel keeps its place.
    Failed,
    /// The carrier refused the parcel, or answered what cannot be read.
    Refused,
    /// The store failed; the parcel keeps its place.
    StoreFailed,
}

/// Why a carrier's calls stopped before the budget was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    RateLimited(Option<u64>),
    Failing,
    OutOfTime,
}

impl CarrierRun {
    fn count(&mut self, polled: &Polled) {
        match polled {
            Polled::News { added } => {
                self.parcels_with_news += 1;
                self.events_added += added;
            }
            Polled::NotScannedYet => self.not_scanned_yet += 1,
            Polled::RateLimited(_) => self.rate_limited = true,
            Polled::Failed | Polled::Refused | Polled::StoreFailed => self.errors += 1,
            Polled::NothingNew | Polled::Left => {}
        }
    }
}

impl PollReport {
    fn summary(&self) -> RunSummary {
        self.carriers
            .iter()
            .fold(RunSummary::default(), |total, run| RunSummary {
                seen: total.seen + run.due,
                found: total.found + run.events_added,
                errors: total.errors + run.errors,
                cut_short: total.cut_short || run.cut_short,
            })
    }
}

impl<S, O, A> App<S, O, A>
where
    S: ShipmentStore + PollingSchedule + InlineArchive + JobRuns,
    O: ObjectArchive,
    A: TrackingApi,
{
    pub fn new(store: S, objects: O, api: A, settings: PollSettings) -> Self {
        Self {
            store,
            objects,
            api,
            settings,
        }
    }

    pub async fn handle(
        &self,
        _event: LambdaEvent<serde_json::Value>,
    ) -> Result<PollReport, Error> {
        Ok(self.poll(now()).await?)
    }

    /// One run over every polled carrier at once, recorded.
    pub async fn poll(&self, at: Timestamp) -> Result<PollReport, StoreError> {
        let started = Instant::now();
        let runs = self
            .settings
            .carriers
            .iter()
            .map(|carrier| self.poll_carrier(*carrier, at, started));
        let carriers: Vec<CarrierRun> = join_all(runs).await;
        let report = PollReport {
            failed: carriers.iter().map(|run| run.errors).sum(),
            carriers,
        };
        for run in &report.carriers {
            metrics::emit(
                FUNCTION,
                &[
                    ("TrackingCalls", run.calls as f64, Unit::Count),
                    ("TrackingEventsFound", run.events_added as f64, Unit::Count),
                    ("TrackingErrors", run.errors as f64, Unit::Count),
                    (
                        "CarrierRateLimited",
                        f64::from(u8::from(run.rate_limited)),
                        Unit::Count,
                    ),
                ],
            );
        }
        let run = JobRun::finished(FUNCTION, at, now(), report.summary(), &report);
        shopflow_lambda_kit::jobs::finish(&self.store, &run).await?;
        Ok(report)
    }

    async fn poll_carrier(&self, carrier: Carrier, at: Timestamp, started: Instant) -> CarrierRun {
        let mut run = CarrierRun {
            carrier: carrier.as_str().to_owned(),
            ..CarrierRun::default()
        };
        let Some(limit) = RateLimit::of(carrier) else {
            return run;
        };
        let due = match self.store.due_parcels(carrier, at, MAX_DUE).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, %carrier, "reading the polling schedule failed");
                run.errors += 1;
                return run;
            }
        };
        run.due = due.len() as u64;
        let wanted = u32::try_from(due.len()).unwrap_or(u32::MAX);
        let granted = match self
            .change_budget(carrier, at, |budget| budget.take(limit, at, wanted))
            .await
        {
            Ok((budget, granted)) => {
                run.blocked_until = budget
                    .blocked_until
                    .filter(|until| *until > at)
                    .map(Timestamp::to_rfc3339);
                granted
            }
            Err(error) => {
                tracing::error!(%error, %carrier, "the carrier's budget could not be taken");
                run.errors += 1;
                run.cut_short = !due.is_empty();
                return run;
            }
        };
        run.granted = u64::from(granted);
        let (calls, stop, answered) = self
            .ask(&due[..granted as usize], at, started, &mut run)
            .await;
        run.calls = calls;
        run.cut_short = u64::from(granted) < run.due || stop.is_some();
        let unused = granted - u32::try_from(calls).unwrap_or(granted);
        let settled = self
            .change_budget(carrier, at, |budget| {
                let budget = budget.unused(limit, unused);
                let budget = match stop {
                    Some(Stop::RateLimited(retry_after)) => budget.rate_limited(at, retry_after),
                    Some(Stop::Failing) => budget.failed(at),
                    Some(Stop::OutOfTime) | None if answered => budget.answered(),
                    Some(Stop::OutOfTime) | None => budget,
                };
                (budget, ())
            })
            .await;
        match settled {
            Ok((budget, ())) => {
                run.blocked_until = budget
                    .blocked_until
                    .filter(|until| *until > at)
                    .map(Timestamp::to_rfc3339);
            }
            Err(error) => {
                tracing::error!(%error, %carrier, "the carrier's budget could not be settled");
                run.errors += 1;
            }
        }
        tracing::info!(
            %carrier,
            due = run.due,
            granted = run.granted,
            calls = run.calls,
            events_added = run.events_added,
            errors = run.errors,
            rate_limited = run.rate_limited,
            cut_short = run.cut_short,
            "carrier polled"
        );
        run
    }

    /// Asks about `parcels`, a few at a time, until done or told to stop:
    /// the calls made, why it stopped, and whether any call was answered.
    async fn ask(
        &self,
        parcels: &[PollEntry],
        at: Timestamp,
        started: Instant,
        run: &mut CarrierRun,
    ) -> (u64, Option<Stop>, bool) {
        let mut calls = 0u64;
        let mut failures_in_a_row = 0u32;
        let mut answered = false;
        for batch in parcels.chunks(self.settings.concurrency.max(1)) {
            if started.elapsed() >= self.settings.time_budget {
                return (calls, Some(Stop::OutOfTime), answered);
            }
            let outcomes = join_all(batch.iter().map(|entry| self.poll_parcel(entry, at))).await;
            calls += batch.len() as u64;
            let mut limited = None;
            for polled in &outcomes {
                run.count(polled);
                match polled {
                    Polled::RateLimited(retry_after) => limited = Some(*retry_after),
                    Polled::Failed => failures_in_a_row += 1,
                    _ => {
                        failures_in_a_row = 0;
                        answered = true;
                    }
                }
            }
            if let Some(retry_after) = limited {
                return (calls, Some(Stop::RateLimited(retry_after)), answered);
            }
            if failures_in_a_row >= FAILURES_TO_STOP {
                return (calls, Some(Stop::Failing), answered);
            }
        }
        (calls, None, answered)
    }

    /// One parcel: asked, its answer read, news taken in, rescheduled.
    async fn poll_parcel(&self, entry: &PollEntry, at: Timestamp) -> Polled {
        let carrier = entry.carrier;
        let answer = match self.api.track(carrier, &entry.tracking_number).await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, tracking_number = %entry.tracking_number, "tracking call failed");
                return Polled::Failed;
            }
        };
        if is_rate_limited(carrier, &answer) {
            return Polled::RateLimited(answer.retry_after_secs);
        }
        if answer.status >= 500 {
            tracing::warn!(status = answer.status, %carrier, tracking_number = %entry.tracking_number, "the carrier failed");
            return Polled::Failed;
        }
        let polled = match read_answer(carrier, &answer) {
            Ok(Reading::News(news)) => self.take_in(entry, news, &answer, at).await,
            Ok(Reading::NotScannedYet) => Polled::NotScannedYet,
            Ok(Reading::Refused(reason)) => {
                tracing::warn!(status = answer.status, %carrier, tracking_number = %entry.tracking_number, %reason, "the carrier refused the parcel");
                Polled::Refused
            }
            Err(error) => {
                let kept = archive(
                    &self.store,
                    &self.objects,
                    &RawPayload::new(carrier.as_str(), at, &answer.body),
                )
                .await;
                tracing::warn!(%error, %carrier, tracking_number = %entry.tracking_number, raw_ref = ?kept.ok(), "an answer we cannot read");
                Polled::Refused
            }
        };
        if matches!(polled, Polled::StoreFailed | Polled::Left) {
            return polled;
        }
        match self.reschedule(entry, at).await {
            Ok(()) => polled,
            Err(()) => Polled::StoreFailed,
        }
    }

    async fn reschedule(&self, entry: &PollEntry, at: Timestamp) -> Result<(), ()> {
        let next = at.plus_secs(self.settings.interval.as_secs());
        self.store.reschedule(entry, next).await.map_err(|error| {
            tracing::error!(%error, tracking_number = %entry.tracking_number, "rescheduling failed");
        })
    }

    /// The parcel's events to its shipment, when they are news: the answer
    /// that brought them archived, each event pointing at it.
    async fn take_in(
        &self,
        entry: &PollEntry,
        news: ParcelNews,
        answer: &CarrierAnswer,
        at: Timestamp,
    ) -> Polled {
        let carrier = entry.carrier;
        let number = &entry.tracking_number;
        let shipment = match self.store.tracked_shipment(carrier, number).await {
            Ok(Some(shipment)) if shipment.is_in_flight() => shipment,
            Ok(_) => {
                if let Err(error) = self.store.unschedule(entry).await {
                    tracing::error!(%error, tracking_number = %number, "unscheduling failed");
                }
                return Polled::Left;
            }
            Err(error) => {
                tracing::error!(%error, tracking_number = %number, "reading the shipment failed");
                return Polled::StoreFailed;
            }
        };
        if !shipment.tracked(news.events.clone()).is_news() {
            return Polled::NothingNew;
        }
        let payload = RawPayload::new(carrier.as_str(), at, &answer.body);
        let raw_ref = match archive(&self.store, &self.objects, &payload).await {
            Ok(raw_ref) => raw_ref,
            Err(error) => {
                tracing::error!(%error, tracking_number = %number, "archiving the answer failed");
                return Polled::StoreFailed;
            }
        };
        let events = news
            .events
            .into_iter()
            .map(|mut event| {
                event.raw_ref = Some(raw_ref.clone());
                event
            })
            .collect();
        match take_in_reports(&self.store, carrier, number, events, &ACTOR, at).await {
            Ok(TrackingOutcome::Recorded {
                added,
                moved,
                order_delivered,
                shipment,
                order_id,
            }) => {
                tracing::info!(%shipment, %order_id, added, ?moved, order_delivered, %raw_ref, "tracking recorded");
                Polled::News {
                    added: added as u64,
                }
            }
            Ok(TrackingOutcome::NothingNew { .. }) => Polled::NothingNew,
            Ok(TrackingOutcome::UnknownParcel) => Polled::Left,
            Err(error) => {
                tracing::error!(%error, tracking_number = %number, "taking the events in failed");
                Polled::StoreFailed
            }
        }
    }

    /// Reads the carrier's budget, changes it with `change` and saves it on
    /// the version read, again if another run saved one meanwhile.
    async fn change_budget<T>(
        &self,
        carrier: Carrier,
        at: Timestamp,
        change: impl Fn(Budget) -> (Budget, T),
    ) -> Result<(Budget, T), StoreError> {
        let limit = RateLimit::of(carrier).ok_or_else(|| StoreError::Corrupt {
            entity: "budget",
            reason: format!("{carrier} has no rate limit"),
        })?;
        for _ in 0..BUDGET_ATTEMPTS {
            let kept: KeptBudget = self.store.budget(carrier).await?;
            let budget = kept.budget.unwrap_or_else(|| Budget::fresh(limit, at));
            let (after, value) = change(budget);
            if self.store.save_budget(carrier, &kept, &after).await? {
                return Ok((after, value));
            }
        }
        Err(StoreError::Unavailable(format!(
            "{carrier}'s budget kept changing"
        )))
    }
}

/// Whether the carrier said "too many requests".
fn is_rate_limited(carrier: Carrier, answer: &CarrierAnswer) -> bool {
    match carrier {
        Carrier::CanadaPost => canada_post::is_rate_limited(answer.status, &answer.body),
        Carrier::ChitChats => chit_chats::is_rate_limited(answer.status),
        Carrier::Usps | Carrier::Dhl => false,
    }
}

/// What an answer says about the parcel.
enum Reading {
    News(ParcelNews),
    NotScannedYet,
    Refused(String),
}

fn read_answer(carrier: Carrier, answer: &CarrierAnswer) -> Result<Reading, ParseError> {
    match carrier {
        // Canada Post answers errors (404 with 004 among them) as messages.
        Carrier::CanadaPost => Ok(match canada_post::parse_detail(&answer.body)? {
            TrackAnswer::News(news) => Reading::News(news),
            TrackAnswer::NoPinHistory => Reading::NotScannedYet,
            TrackAnswer::RateLimited => Reading::Refused("rate limited".into()),
            TrackAnswer::Refused(messages) => Reading::Refused(
                messages
                    .iter()
                    .map(|message| format!("{} {}", message.code, message.description))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }),
        _ if !(200..300).contains(&answer.status) => {
            Ok(Reading::Refused(format!("HTTP {}", answer.status)))
        }
        Carrier::ChitChats => chit_chats::parse_shipment(&answer.body).map(Reading::News),
        Carrier::Usps | Carrier::Dhl => Ok(Reading::Refused(format!("{carrier} is not polled"))),
    }
}
