//! The four steps against in-memory fakes of S3, the ledger and SNS: batching,
//! duplicate runs, deterministic staging, all-or-nothing publication, fault injection
//! and the saga's undo, dry runs kept apart.

// Test helpers unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use etl_core::EtlError;
use etl_functions::aws::{Alerts, ObjectInfo, ObjectStore, Reader, RunLedger, Started};
use etl_functions::events::{BatchRequest, CompensateRequest, LoadRequest, Manifest, Run, RunRequest, StepError};
use etl_functions::handlers;
use etl_functions::settings::Settings;

#[derive(Default)]
struct Store(Mutex<BTreeMap<(String, String), Vec<u8>>>);

impl Store {
    fn put_raw(&self, key: &str, body: &str) {
        self.0.lock().unwrap().insert(("raw".into(), key.into()), body.as_bytes().to_vec());
    }
    fn keys(&self, bucket: &str) -> Vec<String> {
        self.0.lock().unwrap().keys().filter(|(b, _)| b == bucket).map(|(_, k)| k.clone()).collect()
    }
    fn text(&self, bucket: &str, key: &str) -> String {
        String::from_utf8(self.0.lock().unwrap()[&(bucket.to_owned(), key.to_owned())].clone()).unwrap()
    }
}

impl ObjectStore for Store {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, EtlError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), v)| ObjectInfo { key: k.clone(), size: v.len() as u64 })
            .collect())
    }
    async fn open(&self, bucket: &str, key: &str) -> Result<Reader, EtlError> {
        let body = self
            .0
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| EtlError::NonRetryable(format!("no {key}")))?;
        Ok(Box::new(std::io::Cursor::new(body)))
    }
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), EtlError> {
        self.0.lock().unwrap().insert((bucket.into(), key.into()), body);
        Ok(())
    }
    async fn copy(&self, fb: &str, fk: &str, tb: &str, tk: &str) -> Result<(), EtlError> {
        let body = self.0.lock().unwrap()[&(fb.to_owned(), fk.to_owned())].clone();
        self.put(tb, tk, body).await
    }
    async fn delete(&self, bucket: &str, keys: &[String]) -> Result<(), EtlError> {
        for key in keys {
            self.0.lock().unwrap().remove(&(bucket.to_owned(), key.clone()));
        }
        Ok(())
    }
}

/// The run ledger's contract: run id -> (status, detail), and the execution that
/// recorded the run.
#[derive(Default)]
struct Ledger(Mutex<BTreeMap<String, (String, String)>>, Mutex<BTreeMap<String, String>>);

impl RunLedger for Ledger {
    async fn start(&self, run: &Run) -> Result<Started, EtlError> {
        let mut runs = self.0.lock().unwrap();
        let mut executions = self.1.lock().unwrap();
        match runs.get(&run.run_id) {
            Some((status, _))
                if status == "RUNNING"
                    && run.execution_id != "manual"
                    && executions.get(&run.run_id) == Some(&run.execution_id) =>
            {
                Ok(Started::Resumed)
            }
            Some((status, _)) if status != "FAILED" => Ok(Started::Existing(status.clone())),
            _ => {
                runs.insert(run.run_id.clone(), ("RUNNING".into(), String::new()));
                executions.insert(run.run_id.clone(), run.execution_id.clone());
                Ok(Started::New)
            }
        }
    }
    async fn finish(&self, run: &Run, status: &str, detail: &str) -> Result<(), EtlError> {
        self.0.lock().unwrap().insert(run.run_id.clone(), (status.into(), detail.into()));
        Ok(())
    }
}

#[derive(Default)]
struct Outbox(Mutex<Vec<(String, String)>>);

impl Alerts for Outbox {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), EtlError> {
        self.0.lock().unwrap().push((subject.into(), message.into()));
        Ok(())
    }
}

fn settings(allow_faults: bool) -> Settings {
    Settings {
        raw_bucket: "raw".into(),
        staging_bucket: "staging".into(),
        curated_bucket: "curated".into(),
        quarantine_bucket: "quarantine".into(),
        ledger_table: "runs".into(),
        alert_topic_arn: "arn:aws:sns:us-east-1:111111111111:alerts".into(),
        batch_max_bytes: 300,
        batch_max_objects: 2,
        allow_fault_injection: allow_faults,
    }
}

fn order(id: u32) -> String {
    format!("{{\"order_id\":\"o-{id}\",\"customer_id\":\"c-1\",\"occurred_at\":\"2026-11-22T10:00:00Z\",\"amount\":\"1.50\",\"currency\":\"EUR\",\"country\":\"DE\",\"status\":\"PAID\",\"items\":1}}\n")
}

fn request(date: &str, dry_run: bool, inject: Option<&str>) -> RunRequest {
    serde_json::from_value(
        serde_json::json!({"run_date": date, "execution_id": "exec-1", "dry_run": dry_run, "inject_failure": inject}),
    )
    .unwrap()
}

fn day(store: &Store, prefix: &str) {
    store.put_raw(&format!("{prefix}dt=2026-11-22/a.jsonl"), &(order(1) + &order(2)));
    store.put_raw(&format!("{prefix}dt=2026-11-22/b.jsonl"), &(order(3) + "garbage\n"));
    store.put_raw(&format!("{prefix}dt=2026-11-22/c.csv"), "order_id,customer_id,occurred_at,amount,currency,country,status,items\no-4,c-2,2026-11-22T11:00:00Z,2.00,usd,us,paid,2\n");
    store.put_raw(&format!("{prefix}dt=2026-11-22/README.txt"), "not data");
    store.put_raw(&format!("{prefix}dt=2026-11-21/old.jsonl"), &order(9));
}

async fn run_all(
    s: &Settings,
    store: &Store,
    ledger: &Ledger,
    req: RunRequest,
) -> Result<(Manifest, etl_functions::events::LoadResult), EtlError> {
    let manifest = handlers::extract(s, store, ledger, req).await?;
    let mut results = Vec::new();
    for batch in &manifest.batches {
        results.push(
            handlers::transform(s, store, BatchRequest { run: manifest.run.clone(), batch: batch.clone() }).await?,
        );
    }
    let loaded = handlers::load(s, store, ledger, LoadRequest { run: manifest.run.clone(), results }).await?;
    Ok((manifest, loaded))
}

#[tokio::test]
async fn a_day_runs_end_to_end_and_a_second_start_changes_nothing() {
    let (s, store, ledger) = (settings(false), Store::default(), Ledger::default());
    day(&store, "");
    let (manifest, loaded) = run_all(&s, &store, &ledger, request("2026-11-22", false, None)).await.unwrap();
    assert_eq!(manifest.run.run_id, "orders-2026-11-22");
    let objects: Vec<Vec<String>> = manifest.batches.iter().map(|b| b.objects.clone()).collect();
    assert_eq!(
        objects.concat(),
        ["dt=2026-11-22/a.jsonl", "dt=2026-11-22/b.jsonl", "dt=2026-11-22/c.csv"],
        "only the day's data objects"
    );
    assert!(manifest.batches.iter().all(|b| b.objects.len() <= 2), "bounded batches");
    assert_eq!((loaded.records_out, loaded.quarantined), (4, 1));
    let curated = store.keys("curated");
    assert_eq!(curated.last().map(String::as_str), Some("dt=2026-11-22/part-00001.jsonl"));
    assert!(curated.contains(&"dt=2026-11-22/_SUCCESS".to_owned()));
    let lines: usize =
        curated.iter().filter(|k| k.ends_with(".jsonl")).map(|k| store.text("curated", k).lines().count()).sum();
    assert_eq!(lines, 4, "every good record once");
    let quarantine = store.keys("quarantine");
    assert!(store.text("quarantine", &quarantine[0]).contains("not a JSON object"), "bad records keep their reason");
    assert_eq!(ledger.0.lock().unwrap()["orders-2026-11-22"].0, "SUCCEEDED");

    let before = store.0.lock().unwrap().clone();
    let again = handlers::extract(&s, &store, &ledger, request("2026-11-22", false, None)).await.unwrap();
    assert!(again.duplicate && again.batches.is_empty() && again.status == "SUCCEEDED", "{again:?}");
    assert_eq!(*store.0.lock().unwrap(), before, "a duplicate start writes nothing");
}

#[tokio::test]
async fn rerunning_a_batch_rewrites_the_same_keys_with_the_same_bytes() {
    let (s, store, ledger) = (settings(false), Store::default(), Ledger::default());
    day(&store, "");
    let manifest = handlers::extract(&s, &store, &ledger, request("2026-11-22", false, None)).await.unwrap();
    let request = BatchRequest { run: manifest.run.clone(), batch: manifest.batches[0].clone() };
    let first = handlers::transform(&s, &store, request.clone()).await.unwrap();
    let bytes = store.text("staging", &first.staged_key);
    let second = handlers::transform(&s, &store, request).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(store.text("staging", &second.staged_key), bytes);
}

#[tokio::test]
async fn a_failed_load_is_undone_by_compensate_and_alerted() {
    let (s, store, ledger, outbox) = (settings(true), Store::default(), Ledger::default(), Outbox::default());
    day(&store, "");
    let err = run_all(&s, &store, &ledger, request("2026-11-22", false, Some("load"))).await.unwrap_err();
    assert!(err.to_string().contains("injected failure in load"));
    assert!(!store.keys("curated").contains(&"dt=2026-11-22/_SUCCESS".to_owned()), "no marker for a failed load");
    assert!(!store.keys("curated").is_empty(), "the failure left partial output for compensate to undo");

    let run = handlers::extract(
        &settings(false),
        &Store::default(),
        &Ledger::default(),
        request("2026-11-22", false, Some("load")),
    )
    .await
    .unwrap()
    .run;
    let error = StepError { error: err.error_type().into(), cause: err.to_string() };
    let message = handlers::compensate(
        &s,
        &store,
        &ledger,
        &outbox,
        CompensateRequest { run, failed_step: "Load".into(), error },
    )
    .await
    .unwrap();
    assert!(store.keys("curated").is_empty(), "no partial curated output");
    assert!(store.keys("staging").is_empty(), "no staged output");
    assert_eq!(ledger.0.lock().unwrap()["orders-2026-11-22"].0, "FAILED");
    let (subject, body) = outbox.0.lock().unwrap()[0].clone();
    assert!(subject.contains("orders-2026-11-22") && subject.contains("Load"), "{subject}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((body["failed_step"].as_str(), body["error"].as_str()), (Some("Load"), Some("NonRetryable")));
    assert_eq!(message["run_id"], "orders-2026-11-22");

    // A failed run may be started again.
    let retry = handlers::extract(&settings(false), &store, &ledger, request("2026-11-22", false, None)).await.unwrap();
    assert!(!retry.duplicate);
}

#[tokio::test]
async fn fault_injection_is_ignored_unless_allowed() {
    let (s, store, ledger) = (settings(false), Store::default(), Ledger::default());
    day(&store, "");
    run_all(&s, &store, &ledger, request("2026-11-22", false, Some("load"))).await.unwrap();
}

#[tokio::test]
async fn a_dry_run_reads_the_real_day_and_stays_under_shadow_and_out_of_the_ledger() {
    let (s, store, ledger) = (settings(false), Store::default(), Ledger::default());
    day(&store, "");
    let raw_before = store.keys("raw");
    let (manifest, loaded) = run_all(&s, &store, &ledger, request("2026-11-22", true, None)).await.unwrap();
    assert_eq!(manifest.run.run_id, "shadow-orders-2026-11-22");
    assert_eq!(loaded.records_out, 4);
    for bucket in ["staging", "curated", "quarantine"] {
        assert!(store.keys(bucket).iter().all(|k| k.starts_with("shadow/")), "{bucket}: {:?}", store.keys(bucket));
    }
    assert_eq!(store.keys("raw"), raw_before, "the raw day is only read");
    assert!(ledger.0.lock().unwrap().is_empty(), "the ledger holds production runs only");
}

#[tokio::test]
async fn bad_events_are_invalid_input() {
    let (s, store, ledger) = (settings(false), Store::default(), Ledger::default());
    let err = handlers::extract(&s, &store, &ledger, request("22/11/2026", false, None)).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput");
    assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
    let unknown = serde_json::from_value::<RunRequest>(serde_json::json!({"run_date": "2026-11-22", "rundate": "x"}));
    assert!(unknown.is_err(), "unknown fields are refused");

    // A corrupt object fails its batch with a typed error, and writes nothing.
    store.put_raw("dt=2026-11-22/bad.jsonl", "{\"order_id\":\"o-1\"}\n\u{0}");
    let mut bytes = order(1).into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\n");
    store.0.lock().unwrap().insert(("raw".into(), "dt=2026-11-22/bad.jsonl".into()), bytes);
    let manifest = handlers::extract(&s, &store, &ledger, request("2026-11-22", false, None)).await.unwrap();
    let err =
        handlers::transform(&s, &store, BatchRequest { run: manifest.run.clone(), batch: manifest.batches[0].clone() })
            .await
            .unwrap_err();
    assert_eq!(err.error_type(), "CorruptObject");
    assert!(store.keys("staging").is_empty() && store.keys("curated").is_empty());
}

// ---- under AWS's faults ----

/// What a faulty store did to a call: nothing, or a Retryable error before applying it
/// (throttled, reset), or after applying it (its reply lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Before,
    After,
}

/// The store as S3 behaves under faults, seeded: each call may fail Retryable before it
/// applies or after (the write is done, the reply lost). Every write is logged in order.
struct Faulty<'a> {
    inner: &'a Store,
    rng: Mutex<fastrand::Rng>,
    rate: f64,
    faults: Mutex<(u32, u32)>,
    writes: Mutex<Vec<(String, String)>>,
}

impl<'a> Faulty<'a> {
    fn new(inner: &'a Store, seed: u64, rate: f64) -> Self {
        Self {
            inner,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            rate,
            faults: Mutex::new((0, 0)),
            writes: Mutex::new(Vec::new()),
        }
    }

    fn draw(&self) -> Fault {
        let mut rng = self.rng.lock().unwrap();
        if rng.f64() >= self.rate {
            return Fault::None;
        }
        let mut faults = self.faults.lock().unwrap();
        if rng.bool() {
            faults.0 += 1;
            Fault::Before
        } else {
            faults.1 += 1;
            Fault::After
        }
    }

    async fn call<T>(&self, what: &str, op: impl Future<Output = Result<T, EtlError>>) -> Result<T, EtlError> {
        match self.draw() {
            Fault::Before => Err(EtlError::Retryable(format!("{what}: SlowDown: please reduce your request rate"))),
            Fault::After => {
                op.await?;
                Err(EtlError::Retryable(format!("{what}: the answer could not be read: connection reset")))
            }
            Fault::None => op.await,
        }
    }

    fn logged(&self, bucket: &str, key: &str) {
        self.writes.lock().unwrap().push((bucket.to_owned(), key.to_owned()));
    }
}

impl ObjectStore for Faulty<'_> {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, EtlError> {
        self.call("list", self.inner.list(bucket, prefix)).await
    }
    async fn open(&self, bucket: &str, key: &str) -> Result<Reader, EtlError> {
        self.call("open", self.inner.open(bucket, key)).await
    }
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), EtlError> {
        self.call("put", async {
            self.logged(bucket, key);
            self.inner.put(bucket, key, body).await
        })
        .await
    }
    async fn copy(&self, fb: &str, fk: &str, tb: &str, tk: &str) -> Result<(), EtlError> {
        self.call("copy", async {
            self.logged(tb, tk);
            self.inner.copy(fb, fk, tb, tk).await
        })
        .await
    }
    async fn delete(&self, bucket: &str, keys: &[String]) -> Result<(), EtlError> {
        self.call("delete", self.inner.delete(bucket, keys)).await
    }
}

/// Runs a step as the state machine does, trying it again while it fails Retryable
/// (without Step Functions' cap on attempts: the point here is what retries leave).
async fn retried<T, Fut: Future<Output = Result<T, EtlError>>>(mut step: impl FnMut() -> Fut) -> Result<T, EtlError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match step().await {
            Err(err) if err.is_retryable() && attempts < 200 => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn a_run_under_faults_curates_every_good_record_exactly_once_and_the_marker_last() {
    for seed in 1..=20 {
        let (s, store, ledger) = (settings(false), Store::default(), Ledger::default());
        day(&store, "");
        for i in 0..6 {
            store.put_raw(&format!("dt=2026-11-22/more-{i}.jsonl"), &(order(100 + 2 * i) + &order(101 + 2 * i)));
        }
        let faulty = Faulty::new(&store, seed, 0.3);
        let manifest =
            retried(|| handlers::extract(&s, &faulty, &ledger, request("2026-11-22", false, None))).await.unwrap();
        assert!(!manifest.duplicate, "seed {seed}: a retried Extract resumes its own run");
        let mut results = Vec::new();
        for batch in &manifest.batches {
            let request = BatchRequest { run: manifest.run.clone(), batch: batch.clone() };
            results.push(retried(|| handlers::transform(&s, &faulty, request.clone())).await.unwrap());
        }
        let request = LoadRequest { run: manifest.run.clone(), results };
        let loaded = retried(|| handlers::load(&s, &faulty, &ledger, request.clone())).await.unwrap();

        let (before, after) = *faulty.faults.lock().unwrap();
        assert!(before > 0 && after > 0, "seed {seed}: faults of both kinds were injected ({before}, {after})");
        assert_eq!((loaded.records_out, loaded.quarantined), (16, 1), "seed {seed}");
        let mut ids: Vec<String> = store
            .keys("curated")
            .iter()
            .filter(|k| k.ends_with(".jsonl"))
            .flat_map(|k| store.text("curated", k).lines().map(str::to_owned).collect::<Vec<_>>())
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(&line).unwrap()["order_id"].as_str().unwrap().to_owned()
            })
            .collect();
        ids.sort();
        let mut expected: Vec<String> = (1..=4).chain(100..112).map(|i| format!("o-{i}")).collect();
        expected.sort();
        assert_eq!(ids, expected, "seed {seed}: every good record once");

        let writes = faulty.writes.lock().unwrap();
        let marker = writes.iter().rposition(|(b, k)| b == "curated" && k.ends_with("_SUCCESS")).unwrap();
        let last_part = writes.iter().rposition(|(b, k)| b == "curated" && k.ends_with(".jsonl")).unwrap();
        assert!(marker > last_part, "seed {seed}: the marker is written after every part");
        let first_marker = writes.iter().position(|(b, k)| b == "curated" && k.ends_with("_SUCCESS")).unwrap();
        let parts = manifest.batches.len();
        let parts_before_marker: std::collections::BTreeSet<&String> = writes[..first_marker]
            .iter()
            .filter(|(b, k)| b == "curated" && k.ends_with(".jsonl"))
            .map(|(_, k)| k)
            .collect();
        assert_eq!(parts_before_marker.len(), parts, "seed {seed}: every part exists before the first marker");
        assert_eq!(ledger.0.lock().unwrap()["orders-2026-11-22"].0, "SUCCEEDED", "seed {seed}");
    }
}

#[tokio::test]
async fn an_extract_retried_by_its_execution_resumes_and_another_execution_is_answered() {
    let (s, store, ledger) = (settings(false), Store::default(), Ledger::default());
    day(&store, "");
    let first = handlers::extract(&s, &store, &ledger, request("2026-11-22", false, None)).await.unwrap();
    let again = handlers::extract(&s, &store, &ledger, request("2026-11-22", false, None)).await.unwrap();
    assert!(!again.duplicate, "the same execution (exec-1) resumes its run");
    assert_eq!(again.batches, first.batches, "with the same batches");

    let other: RunRequest = serde_json::from_value(
        serde_json::json!({"run_date": "2026-11-22", "execution_id": "exec-2", "dry_run": false}),
    )
    .unwrap();
    let duplicate = handlers::extract(&s, &store, &ledger, other).await.unwrap();
    assert!(duplicate.duplicate && duplicate.status == "RUNNING", "{duplicate:?}");
}
