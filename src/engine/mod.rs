//! Runs the check graph: every selected check concurrently on tokio, each as soon as its
//! dependencies are done. A check whose dependency did not pass (or warn) is `skip` with
//! `skipped_because`; a check that panics or outlives its time bound is `error`, and the
//! run goes on. Every result has a code: a check's own, or one of the engine's
//! ([`EngineCode`], words in `checks/_engine.toml`). Results come back in catalog order, so
//! output is deterministic.
//!
//! The engine knows nothing of AWS, the CLI or rendering: it is generic over the context
//! handed to every check.

use crate::budget::{Budget, Op};
use crate::catalog::{Catalog, Severity};
use futures::future::{BoxFuture, FutureExt, Shared};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The codes of one check (or one family of checks): an enum whose variants are the
/// catalog codes, declared with [`codes!`](crate::codes). A test proves, for every check,
/// that the variants and the catalog codes are the same set.
pub trait Code: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// The catalog name (kebab-case).
    fn as_str(self) -> &'static str;
}

/// Declares a [`Code`] enum: `codes! { pub enum Token { Ok = "ok", Expired = "expired" } }`.
#[macro_export]
macro_rules! codes {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vm])* $var),+ }
        impl $crate::engine::Code for $name {
            const ALL: &'static [Self] = &[$($name::$var),+];
            fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }
    };
}

codes! {
    /// Results the engine decides itself; their words are in `checks/_engine.toml`.
    pub enum EngineCode {
        /// Named in `--skip`.
        SkippedByUser = "skipped-by-user",
        /// A dependency failed or errored.
        DependencyNotPassed = "dependency-not-passed",
        /// A dependency skipped for a reason of its own (e.g. no VPC), which is shown.
        DependencySkipped = "dependency-skipped",
        /// The check panicked.
        Crashed = "crashed",
        /// The check did not finish within its bound.
        TimedOut = "timed-out",
        /// The check returned a code its catalog entry does not have.
        UnknownCode = "unknown-code",
        /// No implementation is registered for the catalog id.
        NotImplemented = "not-implemented",
    }
}

/// What a check found: one of its codes and the facts (data, never sentences) that fill
/// the catalog's templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding<K> {
    pub code: K,
    pub facts: Map<String, Value>,
}

impl<K> Finding<K> {
    pub fn new(code: K) -> Finding<K> {
        Finding {
            code,
            facts: Map::new(),
        }
    }

    /// Adds a fact; `None` values are left out.
    pub fn fact(mut self, key: &str, value: impl Serialize) -> Finding<K> {
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        if !v.is_null() {
            self.facts.insert(key.to_string(), v);
        }
        self
    }

    /// Adds a fact that may be unknown: `None` is kept as `null` (shown as "unknown").
    pub fn fact_or_null<T: Serialize>(mut self, key: &str, value: Option<T>) -> Finding<K> {
        let v = value
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(Value::Null);
        self.facts.insert(key.to_string(), v);
        self
    }

    /// The same facts under another code.
    pub fn with_code<L>(self, code: L) -> Finding<L> {
        Finding {
            code,
            facts: self.facts,
        }
    }

    pub fn facts_from(mut self, facts: &Map<String, Value>) -> Finding<K> {
        for (k, v) in facts {
            self.facts.insert(k.clone(), v.clone());
        }
        self
    }
}

/// A finding with its code erased to the catalog name, as the engine handles it.
pub type Outcome = Finding<&'static str>;

impl<K: Code> Finding<K> {
    pub fn erase(self) -> Outcome {
        let code = self.code.as_str();
        self.with_code(code)
    }
}

impl EngineCode {
    pub fn severity(self) -> Severity {
        match self {
            EngineCode::SkippedByUser
            | EngineCode::DependencyNotPassed
            | EngineCode::DependencySkipped => Severity::Skip,
            EngineCode::Crashed
            | EngineCode::TimedOut
            | EngineCode::UnknownCode
            | EngineCode::NotImplemented => Severity::Error,
        }
    }
}

tokio::task_local! {
    /// The id of the check whose code is running (set by [`Registration`]).
    pub static CURRENT_CHECK: &'static str;
}

/// An implementation of one catalog check.
pub type CheckFn<C> = Arc<dyn Fn(Arc<C>) -> BoxFuture<'static, Outcome> + Send + Sync>;

/// One check's implementation and the codes it may return.
pub struct Registration<C> {
    pub id: &'static str,
    pub codes: Vec<&'static str>,
    /// The network operations the check runs one after the other: its time bound.
    pub ops: &'static [Op],
    pub run: CheckFn<C>,
}

impl<C: Send + Sync + 'static> Registration<C> {
    /// A check returning every code of `K`.
    pub fn new<K: Code>(
        id: &'static str,
        ops: &'static [Op],
        f: fn(Arc<C>) -> BoxFuture<'static, Finding<K>>,
    ) -> Self {
        Self::subset(id, ops, f, K::ALL)
    }

    /// A check of a family that returns only `codes` of the family's enum.
    pub fn subset<K: Code>(
        id: &'static str,
        ops: &'static [Op],
        f: fn(Arc<C>) -> BoxFuture<'static, Finding<K>>,
        codes: &'static [K],
    ) -> Self {
        Registration {
            id,
            codes: codes.iter().map(|c| c.as_str()).collect(),
            ops,
            run: Arc::new(move |cx| CURRENT_CHECK.scope(id, f(cx).map(Finding::erase)).boxed()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    pub id: String,
    pub status: Severity,
    /// The check's code, or an [`EngineCode`] when `engine` is set.
    pub code: &'static str,
    /// The engine decided this result (skipped, crashed, timed out...).
    pub engine: bool,
    pub facts: Map<String, Value>,
    pub skipped_because: Vec<String>,
    pub duration: Duration,
}

impl CheckResult {
    pub fn engine_code(&self) -> Option<EngineCode> {
        if !self.engine {
            return None;
        }
        EngineCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == self.code)
    }
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
    impls: HashMap<&'static str, CheckFn<C>>,
    /// Each check's time bound.
    bounds: HashMap<&'static str, Duration>,
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// Each check's time bound comes from `budget` and the operations it registered.
    pub fn new(catalog: Arc<Catalog>, registrations: Vec<Registration<C>>, budget: Budget) -> Self {
        let bounds = registrations
            .iter()
            .map(|r| (r.id, budget.check(r.ops)))
            .collect();
        Engine {
            catalog,
            impls: registrations.into_iter().map(|r| (r.id, r.run)).collect(),
            bounds,
        }
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
            if self.catalog.get(id).is_none() {
                continue;
            }
            let deps: Vec<SharedResult> = self.catalog.get(id).map_or(vec![], |spec| {
                spec.depends_on
                    .iter()
                    .filter_map(|d| futs.get(d).cloned())
                    .collect()
            });
            let after: Vec<SharedResult> = self.catalog.get(id).map_or(vec![], |spec| {
                spec.after
                    .iter()
                    .filter_map(|d| futs.get(d).cloned())
                    .collect()
            });
            let waits: Vec<SharedResult> = deps.iter().chain(&after).cloned().collect();
            let fut = run_one(
                self.catalog.clone(),
                id.clone(),
                self.impls.get(id.as_str()).cloned(),
                deps,
                after,
                selection.user_skipped.contains(id),
                self.bounds
                    .get(id.as_str())
                    .copied()
                    .unwrap_or(crate::budget::MARGIN),
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

fn engine_result(id: &str, code: EngineCode, facts: Map<String, Value>) -> CheckResult {
    CheckResult {
        id: id.to_string(),
        status: code.severity(),
        code: code.as_str(),
        engine: true,
        facts,
        skipped_because: Vec::new(),
        duration: Duration::ZERO,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_one<C: Send + Sync + 'static>(
    catalog: Arc<Catalog>,
    id: String,
    imp: Option<CheckFn<C>>,
    deps: Vec<SharedResult>,
    after: Vec<SharedResult>,
    user_skipped: bool,
    bound: Duration,
    ctx: Arc<C>,
) -> Arc<CheckResult> {
    let dep_results = futures::future::join_all(deps).await;
    futures::future::join_all(after).await;
    if user_skipped {
        return Arc::new(engine_result(&id, EngineCode::SkippedByUser, Map::new()));
    }
    let blocked: Vec<&Arc<CheckResult>> = dep_results
        .iter()
        .filter(|r| !matches!(r.status, Severity::Pass | Severity::Warn))
        .collect();
    if !blocked.is_empty() {
        // a dependency that skipped for a reason of its own (e.g. no VPC): that reason is shown
        let reason = blocked.iter().find(|d| {
            !d.engine
                && catalog
                    .get(&d.id)
                    .and_then(|s| s.codes.get(d.code))
                    .is_some_and(|c| c.skip_reason.is_some())
        });
        let mut facts = Map::new();
        let code = match reason {
            Some(d) => {
                facts.insert("reason_check".into(), Value::String(d.id.clone()));
                facts.insert("reason_code".into(), Value::String(d.code.to_string()));
                EngineCode::DependencySkipped
            }
            None => EngineCode::DependencyNotPassed,
        };
        let mut r = engine_result(&id, code, facts);
        r.skipped_because = blocked.iter().map(|d| d.id.clone()).collect();
        return Arc::new(r);
    }
    let Some(imp) = imp else {
        return Arc::new(engine_result(&id, EngineCode::NotImplemented, Map::new()));
    };
    let start = Instant::now();
    let handle = tokio::spawn(imp(ctx));
    let abort = handle.abort_handle();
    let joined = tokio::time::timeout(bound, handle).await;
    let duration = start.elapsed();
    let mut result = match joined {
        Ok(Ok(outcome)) => match catalog.get(&id).and_then(|s| s.codes.get(outcome.code)) {
            Some(code) => CheckResult {
                id: id.clone(),
                status: code.severity,
                code: outcome.code,
                engine: false,
                facts: outcome.facts,
                skipped_because: Vec::new(),
                duration,
            },
            None => {
                let mut facts = outcome.facts;
                facts.insert(
                    "returned_code".into(),
                    Value::String(outcome.code.to_string()),
                );
                engine_result(&id, EngineCode::UnknownCode, facts)
            }
        },
        Ok(Err(join_err)) => {
            let msg = match join_err.try_into_panic() {
                Ok(payload) => panic_text(payload),
                Err(e) => e.to_string(),
            };
            let mut facts = Map::new();
            facts.insert("panic".into(), Value::String(msg));
            engine_result(&id, EngineCode::Crashed, facts)
        }
        Err(_) => {
            abort.abort();
            let mut facts = Map::new();
            facts.insert("bound_ms".into(), Value::from(bound.as_millis() as u64));
            facts.insert("bound_seconds".into(), Value::from(bound.as_secs_f64()));
            engine_result(&id, EngineCode::TimedOut, facts)
        }
    };
    result.duration = duration;
    Arc::new(result)
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    codes! {
        enum T {
            Ok = "ok",
            Meh = "meh",
            Bad = "bad",
            NoSuch = "no-such-code",
        }
    }

    fn spec(id: &str, order: u32, deps: &[&str]) -> String {
        format!(
            "id = \"{id}\"\norder = {order}\ntitle = \"{id}\"\ndescription = \"d\"\ndepends_on = {deps:?}\n\
             [codes.ok]\nseverity = \"pass\"\nmessage = \"ok\"\n\
             [codes.meh]\nseverity = \"warn\"\nmessage = \"meh\"\nremediation = \"r\"\n\
             [codes.bad]\nseverity = \"fail\"\nmessage = \"bad\"\nremediation = \"r\"\n"
        )
    }

    struct Ctx {
        started: std::sync::Mutex<Vec<String>>,
        barrier: tokio::sync::Barrier,
    }

    type F = BoxFuture<'static, Finding<T>>;

    fn ok(c: Arc<Ctx>) -> F {
        async move {
            c.started.lock().unwrap().push("ok".into());
            Finding::new(T::Ok).fact("n", 1)
        }
        .boxed()
    }
    fn bad(_: Arc<Ctx>) -> F {
        async { Finding::new(T::Bad) }.boxed()
    }
    fn meh(_: Arc<Ctx>) -> F {
        async { Finding::new(T::Meh) }.boxed()
    }
    fn boom(_: Arc<Ctx>) -> F {
        async { panic!("probe exploded") }.boxed()
    }
    fn hang(_: Arc<Ctx>) -> F {
        async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Finding::new(T::Ok)
        }
        .boxed()
    }
    fn meet(c: Arc<Ctx>) -> F {
        // returns only once all three `meet` checks are running at the same time
        async move {
            c.barrier.wait().await;
            Finding::new(T::Ok)
        }
        .boxed()
    }
    fn slow_ok(_: Arc<Ctx>) -> F {
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Finding::new(T::Ok)
        }
        .boxed()
    }
    fn unknown(_: Arc<Ctx>) -> F {
        async { Finding::new(T::NoSuch) }.boxed()
    }

    type Entry = (&'static str, &'static [&'static str], fn(Arc<Ctx>) -> F);

    fn engine_of(cat: Arc<Catalog>, entries: &[Entry]) -> Engine<Ctx> {
        let regs = entries
            .iter()
            .map(|(id, _, f)| Registration::new(id, &[Op::Connect], *f))
            .collect();
        Engine::new(cat, regs, Budget::new(Duration::from_millis(100)))
    }

    fn engine(entries: &[Entry]) -> (Engine<Ctx>, Arc<Catalog>) {
        let texts: Vec<(String, String)> = entries
            .iter()
            .enumerate()
            .map(|(i, (id, deps, _))| (format!("{id}.toml"), spec(id, i as u32 + 1, deps)))
            .collect();
        let files: Vec<(&str, &str)> = texts
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let cat = Arc::new(Catalog::from_files(&files).unwrap());
        (engine_of(cat.clone(), entries), cat)
    }

    async fn run(entries: &[Entry], only: &[&str], skip: &[&str]) -> Vec<CheckResult> {
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
        assert_eq!(r[1].engine_code(), Some(EngineCode::DependencyNotPassed));
        assert_eq!(r[1].code, "dependency-not-passed");
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
            ("a.toml", spec("a", 1, &[])),
            (
                "b.toml",
                spec("b", 2, &[]).replace("depends_on = []", "depends_on = []\nafter = [\"a\"]"),
            ),
        ];
        let files: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let cat = Arc::new(Catalog::from_files(&files).unwrap());
        assert_eq!(cat.get("b").unwrap().after, ["a"]);
        let e = engine_of(cat.clone(), &[("a", &[], bad), ("b", &[], ok)]);
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
        assert_eq!(r[0].engine_code(), Some(EngineCode::Crashed));
        assert_eq!(r[0].facts["panic"], "probe exploded");
    }

    #[tokio::test]
    async fn timeout_becomes_error() {
        let r = run(&[("a", &[], hang), ("b", &[], ok)], &[], &[]).await;
        assert_eq!(statuses(&r), [("a", "error"), ("b", "pass")]);
        // bound = 1 x 100 ms + 1 s
        assert_eq!(r[0].engine_code(), Some(EngineCode::TimedOut));
        assert_eq!(r[0].facts["bound_ms"], 1100);
    }

    #[tokio::test]
    async fn unknown_code_is_an_error() {
        let r = run(&[("a", &[], unknown)], &[], &[]).await;
        assert_eq!(r[0].status, Severity::Error);
        assert_eq!(r[0].engine_code(), Some(EngineCode::UnknownCode));
        assert_eq!(r[0].facts["returned_code"], "no-such-code");
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
        assert_eq!(r[0].engine_code(), Some(EngineCode::SkippedByUser));
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
