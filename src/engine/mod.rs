//! Runs the check graph: every selected check concurrently on tokio, each as soon as its
//! dependencies are done. A check whose dependency did not pass (or warn) is `skip` with
//! `skipped_because`; a check that panics or outlives its time bound is `error`, and the
//! run goes on. Results come back in catalog order, so output is deterministic.
//!
//! The engine knows nothing of AWS, the CLI or rendering: it is generic over the context
//! handed to every check.

use crate::catalog::{Catalog, CheckSpec, Severity};
use futures::future::{BoxFuture, FutureExt, Shared};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a check found: a catalog code and the facts that fill its templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub code: String,
    pub facts: Map<String, Value>,
}

impl Outcome {
    pub fn new(code: &str) -> Outcome {
        Outcome {
            code: code.to_string(),
            facts: Map::new(),
        }
    }

    /// Adds a fact; `None` values are left out.
    pub fn fact(mut self, key: &str, value: impl Serialize) -> Outcome {
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        if !v.is_null() {
            self.facts.insert(key.to_string(), v);
        }
        self
    }

    pub fn facts_from(mut self, facts: &Map<String, Value>) -> Outcome {
        for (k, v) in facts {
            self.facts.insert(k.clone(), v.clone());
        }
        self
    }
}

/// An implementation of one catalog check.
pub type CheckFn<C> = fn(Arc<C>) -> BoxFuture<'static, Outcome>;

/// Why the engine itself decided a status (no catalog code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineNote {
    /// Named in `--skip`.
    SkippedByUser,
    /// A dependency did not pass.
    DependencyNotPassed,
    /// The check panicked; the text is the panic message.
    Crashed(String),
    /// The check did not finish within its bound.
    TimedOut(Duration),
    /// The check returned a code its catalog entry does not have.
    UnknownCode(String),
    /// No implementation is registered for the catalog id.
    NotImplemented,
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    pub id: String,
    pub status: Severity,
    pub code: Option<String>,
    pub facts: Map<String, Value>,
    pub skipped_because: Vec<String>,
    pub note: Option<EngineNote>,
    pub duration: Duration,
}

/// Which checks run: `run` in catalog order; `user_skipped` appear as `skip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub run: Vec<String>,
    pub user_skipped: HashSet<String>,
}

/// `--only` selects the named checks and everything they depend on or run after; `--skip` marks checks
/// that are reported as skipped (their dependents skip too). Unknown ids are an error.
pub fn select(catalog: &Catalog, only: &[String], skip: &[String]) -> Result<Selection, String> {
    for id in only.iter().chain(skip) {
        if catalog.get(id).is_none() {
            return Err(format!(
                "unknown check id '{id}' (see --list-checks; ids look like token.get)"
            ));
        }
    }
    let mut wanted: HashSet<String> = HashSet::new();
    if only.is_empty() {
        wanted.extend(catalog.ids().map(str::to_string));
    } else {
        let mut stack: Vec<String> = only.to_vec();
        while let Some(id) = stack.pop() {
            if wanted.insert(id.clone()) {
                if let Some(spec) = catalog.get(&id) {
                    // `after` checks supply facts (the registry host, the VPC): run them too
                    stack.extend(spec.depends_on.iter().chain(&spec.after).cloned());
                }
            }
        }
    }
    Ok(Selection {
        run: catalog
            .ids()
            .filter(|id| wanted.contains(*id))
            .map(str::to_string)
            .collect(),
        user_skipped: skip.iter().cloned().collect(),
    })
}

type SharedResult = Shared<BoxFuture<'static, Arc<CheckResult>>>;

/// What [`Engine::run_with_progress`] reports while it runs, for a progress display.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The check's dependencies are done: it runs now (or is about to be skipped).
    Started { id: String },
    /// The check has its result.
    Finished {
        id: String,
        status: Severity,
        duration: Duration,
    },
}

/// Sends `Started` once `waits` are done, then `Finished` with the result of `fut`.
async fn announce(
    tx: tokio::sync::mpsc::UnboundedSender<Progress>,
    id: String,
    waits: Vec<SharedResult>,
    fut: SharedResult,
) -> Arc<CheckResult> {
    futures::future::join_all(waits).await;
    let _ = tx.send(Progress::Started { id });
    let r = fut.await;
    let _ = tx.send(Progress::Finished {
        id: r.id.clone(),
        status: r.status,
        duration: r.duration,
    });
    r
}

pub struct Engine<C> {
    catalog: Arc<Catalog>,
    impls: HashMap<String, CheckFn<C>>,
    /// Bound of one network operation; a check's bound is `timeout_factor` of these plus 1 s.
    pub op_timeout: Duration,
}

impl<C: Send + Sync + 'static> Engine<C> {
    pub fn new(
        catalog: Arc<Catalog>,
        impls: HashMap<String, CheckFn<C>>,
        op_timeout: Duration,
    ) -> Self {
        Engine {
            catalog,
            impls,
            op_timeout,
        }
    }

    pub fn check_bound(&self, spec: &CheckSpec) -> Duration {
        self.op_timeout * spec.timeout_factor + Duration::from_secs(1)
    }

    pub async fn run(&self, ctx: Arc<C>, selection: &Selection) -> Vec<CheckResult> {
        self.run_with_progress(ctx, selection, None).await
    }

    /// [`Engine::run`], sending a [`Progress`] event as each check starts and finishes (in
    /// the order they do). The channel closes when the run is over.
    pub async fn run_with_progress(
        &self,
        ctx: Arc<C>,
        selection: &Selection,
        progress: Option<tokio::sync::mpsc::UnboundedSender<Progress>>,
    ) -> Vec<CheckResult> {
        let mut futs: HashMap<String, SharedResult> = HashMap::new();
        let mut order = Vec::new();
        for id in &selection.run {
            let Some(spec) = self.catalog.get(id) else {
                continue;
            };
            let deps: Vec<SharedResult> = spec
                .depends_on
                .iter()
                .filter_map(|d| futs.get(d).cloned())
                .collect();
            let after: Vec<SharedResult> = spec
                .after
                .iter()
                .filter_map(|d| futs.get(d).cloned())
                .collect();
            let waits: Vec<SharedResult> = deps.iter().chain(&after).cloned().collect();
            let fut = run_one(
                spec.clone(),
                self.impls.get(id).copied(),
                deps,
                after,
                selection.user_skipped.contains(id),
                self.check_bound(spec),
                ctx.clone(),
            )
            .boxed()
            .shared();
            let fut = match &progress {
                Some(tx) => announce(tx.clone(), id.clone(), waits, fut)
                    .boxed()
                    .shared(),
                None => fut,
            };
            // start it now, so that independent checks run concurrently
            tokio::spawn(fut.clone());
            futs.insert(id.clone(), fut);
            order.push(id.clone());
        }
        let mut out = Vec::with_capacity(order.len());
        for id in order {
            out.push((*futs[&id].clone().await).clone());
        }
        out
    }
}

async fn run_one<C: Send + Sync + 'static>(
    spec: CheckSpec,
    imp: Option<CheckFn<C>>,
    deps: Vec<SharedResult>,
    after: Vec<SharedResult>,
    user_skipped: bool,
    bound: Duration,
    ctx: Arc<C>,
) -> Arc<CheckResult> {
    let dep_results = futures::future::join_all(deps).await;
    futures::future::join_all(after).await;
    let mut result = CheckResult {
        id: spec.id.clone(),
        status: Severity::Skip,
        code: None,
        facts: Map::new(),
        skipped_because: Vec::new(),
        note: None,
        duration: Duration::ZERO,
    };
    if user_skipped {
        result.note = Some(EngineNote::SkippedByUser);
        return Arc::new(result);
    }
    let blocked: Vec<String> = dep_results
        .iter()
        .filter(|r| !matches!(r.status, Severity::Pass | Severity::Warn))
        .map(|r| r.id.clone())
        .collect();
    if !blocked.is_empty() {
        result.skipped_because = blocked;
        result.note = Some(EngineNote::DependencyNotPassed);
        return Arc::new(result);
    }
    let Some(imp) = imp else {
        result.status = Severity::Error;
        result.note = Some(EngineNote::NotImplemented);
        return Arc::new(result);
    };
    let start = Instant::now();
    let handle = tokio::spawn(imp(ctx));
    let abort = handle.abort_handle();
    let joined = tokio::time::timeout(bound, handle).await;
    result.duration = start.elapsed();
    match joined {
        Ok(Ok(outcome)) => match spec.codes.get(&outcome.code) {
            Some(code) => {
                result.status = code.severity;
                result.code = Some(outcome.code);
                result.facts = outcome.facts;
            }
            None => {
                result.status = Severity::Error;
                result.note = Some(EngineNote::UnknownCode(outcome.code));
                result.facts = outcome.facts;
            }
        },
        Ok(Err(join_err)) => {
            result.status = Severity::Error;
            let msg = match join_err.try_into_panic() {
                Ok(payload) => panic_text(payload),
                Err(e) => e.to_string(),
            };
            result.note = Some(EngineNote::Crashed(msg));
        }
        Err(_) => {
            abort.abort();
            result.status = Severity::Error;
            result.note = Some(EngineNote::TimedOut(bound));
        }
    }
    Arc::new(result)
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, order: u32, deps: &[&str], factor: u32) -> String {
        format!(
            "id = \"{id}\"\norder = {order}\ntitle = \"{id}\"\ndescription = \"d\"\ndepends_on = {deps:?}\ntimeout_factor = {factor}\n\
             [codes.ok]\nseverity = \"pass\"\nmessage = \"ok\"\n\
             [codes.meh]\nseverity = \"warn\"\nmessage = \"meh\"\nremediation = \"r\"\n\
             [codes.bad]\nseverity = \"fail\"\nmessage = \"bad\"\nremediation = \"r\"\n"
        )
    }

    struct Ctx {
        started: std::sync::Mutex<Vec<String>>,
        barrier: tokio::sync::Barrier,
    }

    fn ok(c: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        async move {
            c.started.lock().unwrap().push("ok".into());
            Outcome::new("ok").fact("n", 1)
        }
        .boxed()
    }
    fn bad(_: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        async { Outcome::new("bad") }.boxed()
    }
    fn meh(_: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        async { Outcome::new("meh") }.boxed()
    }
    fn boom(_: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        async { panic!("probe exploded") }.boxed()
    }
    fn hang(_: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Outcome::new("ok")
        }
        .boxed()
    }
    fn meet(c: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        // returns only once all three `meet` checks are running at the same time
        async move {
            c.barrier.wait().await;
            Outcome::new("ok")
        }
        .boxed()
    }
    fn slow_ok(_: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Outcome::new("ok")
        }
        .boxed()
    }
    fn unknown(_: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
        async { Outcome::new("no-such-code") }.boxed()
    }

    fn engine(entries: &[(&str, &[&str], CheckFn<Ctx>)]) -> (Engine<Ctx>, Arc<Catalog>) {
        let texts: Vec<(String, String)> = entries
            .iter()
            .enumerate()
            .map(|(i, (id, deps, _))| (format!("{id}.toml"), spec(id, i as u32 + 1, deps, 1)))
            .collect();
        let files: Vec<(&str, &str)> = texts
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let cat = Arc::new(Catalog::from_files(&files).unwrap());
        let impls = entries
            .iter()
            .map(|(id, _, f)| (id.to_string(), *f))
            .collect();
        (
            Engine::new(cat.clone(), impls, Duration::from_millis(100)),
            cat,
        )
    }

    async fn run(
        entries: &[(&str, &[&str], CheckFn<Ctx>)],
        only: &[&str],
        skip: &[&str],
    ) -> Vec<CheckResult> {
        let (e, cat) = engine(entries);
        let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
        let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
        let sel = select(&cat, &only, &skip).unwrap();
        let ctx = Ctx {
            started: Default::default(),
            barrier: tokio::sync::Barrier::new(3),
        };
        e.run(Arc::new(ctx), &sel).await
    }

    fn statuses(r: &[CheckResult]) -> Vec<(&str, &str)> {
        r.iter()
            .map(|r| (r.id.as_str(), r.status.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn failed_dependency_skips_dependents_transitively() {
        let r = run(
            &[
                ("a", &[], bad),
                ("b", &["a"], ok),
                ("c", &["b"], ok),
                ("d", &[], ok),
            ],
            &[],
            &[],
        )
        .await;
        assert_eq!(
            statuses(&r),
            [("a", "fail"), ("b", "skip"), ("c", "skip"), ("d", "pass")]
        );
        assert_eq!(r[1].skipped_because, ["a"]);
        assert_eq!(r[2].skipped_because, ["b"]);
        assert_eq!(r[1].note, Some(EngineNote::DependencyNotPassed));
        assert_eq!(r[3].facts["n"], 1);
    }

    #[tokio::test]
    async fn warn_does_not_block_dependents() {
        let r = run(&[("a", &[], meh), ("b", &["a"], ok)], &[], &[]).await;
        assert_eq!(statuses(&r), [("a", "warn"), ("b", "pass")]);
    }

    #[tokio::test]
    async fn after_orders_without_skipping() {
        let texts = [
            ("a.toml", spec("a", 1, &[], 1)),
            (
                "b.toml",
                spec("b", 2, &[], 1)
                    .replace("timeout_factor = 1", "timeout_factor = 1\nafter = [\"a\"]"),
            ),
        ];
        let files: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let cat = Arc::new(Catalog::from_files(&files).unwrap());
        assert_eq!(cat.get("b").unwrap().after, ["a"]);
        let impls = [
            ("a".to_string(), bad as CheckFn<Ctx>),
            ("b".to_string(), ok as CheckFn<Ctx>),
        ]
        .into_iter()
        .collect();
        let e = Engine::new(cat.clone(), impls, Duration::from_millis(100));
        let ctx = Ctx {
            started: Default::default(),
            barrier: tokio::sync::Barrier::new(1),
        };
        let r = e.run(Arc::new(ctx), &select(&cat, &[], &[]).unwrap()).await;
        assert_eq!(statuses(&r), [("a", "fail"), ("b", "pass")]);
    }

    #[tokio::test]
    async fn panic_becomes_error_and_run_goes_on() {
        let r = run(
            &[("a", &[], boom), ("b", &["a"], ok), ("c", &[], ok)],
            &[],
            &[],
        )
        .await;
        assert_eq!(statuses(&r), [("a", "error"), ("b", "skip"), ("c", "pass")]);
        assert_eq!(
            r[0].note,
            Some(EngineNote::Crashed("probe exploded".into()))
        );
    }

    #[tokio::test]
    async fn timeout_becomes_error() {
        let r = run(&[("a", &[], hang), ("b", &[], ok)], &[], &[]).await;
        assert_eq!(statuses(&r), [("a", "error"), ("b", "pass")]);
        // bound = 1 x 100 ms + 1 s
        assert_eq!(
            r[0].note,
            Some(EngineNote::TimedOut(Duration::from_millis(1100)))
        );
    }

    #[tokio::test]
    async fn unknown_code_is_an_error() {
        let r = run(&[("a", &[], unknown)], &[], &[]).await;
        assert_eq!(r[0].status, Severity::Error);
        assert_eq!(
            r[0].note,
            Some(EngineNote::UnknownCode("no-such-code".into()))
        );
    }

    #[tokio::test]
    async fn output_is_catalog_order_whatever_finishes_first() {
        let r = run(&[("slow", &[], slow_ok), ("fast", &[], ok)], &[], &[]).await;
        assert_eq!(statuses(&r), [("slow", "pass"), ("fast", "pass")]);
    }

    #[tokio::test]
    async fn independent_checks_run_concurrently() {
        // each `meet` waits at a barrier for the other two: run one after the other, the
        // first would wait forever and end as `error` (timed out)
        let r = run(
            &[("a", &[], meet), ("b", &[], meet), ("c", &[], meet)],
            &[],
            &[],
        )
        .await;
        assert_eq!(statuses(&r), [("a", "pass"), ("b", "pass"), ("c", "pass")]);
    }

    #[tokio::test]
    async fn only_pulls_in_dependencies_and_skip_is_reported() {
        let r = run(
            &[("a", &[], ok), ("b", &["a"], ok), ("c", &[], ok)],
            &["b"],
            &[],
        )
        .await;
        assert_eq!(statuses(&r), [("a", "pass"), ("b", "pass")]);
        let r = run(
            &[("a", &[], ok), ("b", &["a"], ok), ("c", &[], ok)],
            &[],
            &["a"],
        )
        .await;
        assert_eq!(statuses(&r), [("a", "skip"), ("b", "skip"), ("c", "pass")]);
        assert_eq!(r[0].note, Some(EngineNote::SkippedByUser));
    }

    #[tokio::test]
    async fn progress_reports_each_check_as_it_finishes() {
        let (e, cat) = engine(&[
            ("slow", &[], slow_ok),
            ("fast", &[], ok),
            ("b", &["fast"], bad),
        ]);
        let sel = select(&cat, &[], &[]).unwrap();
        let ctx = Ctx {
            started: Default::default(),
            barrier: tokio::sync::Barrier::new(1),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let r = e.run_with_progress(Arc::new(ctx), &sel, Some(tx)).await;
        assert_eq!(
            statuses(&r),
            [("slow", "pass"), ("fast", "pass"), ("b", "fail")]
        );
        let mut events = Vec::new();
        // the channel is closed once the run is over: this ends
        while let Some(ev) = rx.recv().await {
            events.push(ev);
        }
        let finished: Vec<(String, Severity)> = events
            .iter()
            .filter_map(|ev| match ev {
                Progress::Finished { id, status, .. } => Some((id.clone(), *status)),
                Progress::Started { .. } => None,
            })
            .collect();
        // in finishing order, not catalog order
        assert_eq!(
            finished,
            [
                ("fast".to_string(), Severity::Pass),
                ("b".to_string(), Severity::Fail),
                ("slow".to_string(), Severity::Pass)
            ]
        );
        for id in ["slow", "fast", "b"] {
            let started = events
                .iter()
                .position(|ev| *ev == Progress::Started { id: id.into() });
            let done = events
                .iter()
                .position(|ev| matches!(ev, Progress::Finished { id: i, .. } if i == id));
            assert!(started.unwrap() < done.unwrap(), "{id}: {events:?}");
        }
        let slow = events.iter().find_map(|ev| match ev {
            Progress::Finished { id, duration, .. } if id == "slow" => Some(*duration),
            _ => None,
        });
        assert!(slow.unwrap() >= Duration::from_millis(300));
    }

    #[test]
    fn unknown_ids_in_selection_are_rejected() {
        let (_, cat) = engine(&[("a", &[], ok)]);
        let err = select(&cat, &["nope".into()], &[]).unwrap_err();
        assert!(err.contains("unknown check id 'nope'"), "{err}");
        assert!(select(&cat, &[], &["nope".into()]).is_err());
    }
}
