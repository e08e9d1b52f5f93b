//! A MaxCompute (ODPS) service emulator for tests: the REST surface of
//! protocol doc §7 on `127.0.0.1`, with real signature checks, real XML
//! and JSON shapes, SQL run against a PostgreSQL database of its own, and
//! fault injection.
//!
//! ```ignore
//! let emu = Emulator::start(EmulatorConfig::new().credential("ak", "sk").project("demo")).await;
//! emu.create_table(&TableSpec::new("demo.sales").column("id", "bigint", "order id")
//!     .partition_key("ds", "string", "day")).await;
//! emu.insert("demo.sales", "(1, '20240101')").await;
//! // point a client at emu.endpoint() (service) / emu.tunnel_endpoint()
//! ```
//!
//! Both planes share one port: the service plane is `http://127.0.0.1:PORT/api`,
//! the tunnel plane `http://127.0.0.1:PORT` (no `/api`), which is also what
//! `GET /projects/{p}/tunnel?service` answers. The emulator is independent
//! of sqlwarden's own MaxCompute client on purpose: the official pyodps SDK
//! is its proof (tests/it/pyodps.rs), and it then judges sqlwarden.
//! It is not a full MaxCompute: no writes, no DDL over REST, no Arrow
//! tunnel, no table tunnel, no tunnel compression, no `interval`/`json`
//! columns, no arrays of arrays, no LATERAL VIEW or UDFs.
//!
//! Files: `router` (dispatch, auth and faults per request), `auth`
//! (signatures), `meta` (projects, schemas, tables, partitions), `job` and
//! `instances` (SQL instances), `exec`, `sql` and `prune` (running
//! MaxCompute SQL on PostgreSQL, cost estimates), `store` (the database),
//! `tunnel` (record stream), `faults`, `reply` (error XML), `catalog`,
//! `types`, `value`. For tests: `fixture` (a ready data set) and `raw` (a
//! raw signing client and an independent tunnel reader).
//!
//! Jobs take the time the config's [`JobTime`] model says (queue + run,
//! offline and MaxQA apart), `?instancestatus` is held until the job ends
//! (at most `status_hold`), and MaxQA (MCQA 2.0) is served: the
//! connection and quota lookups, `/mcqa/projects/{p}/instances…` with the
//! signed `x-odps-mcqa-conn` header and the query cookie, results inline
//! in the status answer (`FULL`/`TRUNCATED`), the fallback header.
//!
//! Faults are switched at runtime through [`EmulatorHandle::faults`];
//! what clients sent is visible through [`EmulatorHandle::instances`]
//! (query, settings, status, terminate requests) and
//! [`EmulatorHandle::requests`] (every request, its signature version and
//! answer). The emulator runs on the test's tokio runtime: drive it with
//! async clients (or a multi-thread runtime), never block that runtime.

pub mod auth;
pub mod catalog;
pub mod exec;
pub mod faults;
pub mod fixture;
pub mod instances;
pub mod job;
pub mod mcqa;
pub mod meta;
pub mod prune;
pub mod raw;
pub mod reply;
pub mod router;
pub mod sql;
pub mod store;
pub mod tunnel;
pub mod types;
pub mod value;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

pub use auth::{Credential, SignatureVersion};
pub use catalog::{TableId, TableSpec};
pub use faults::Faults;
pub use instances::{InstanceRecord, Mode};

use catalog::{Catalog, Partition, Project, Table, DEFAULT_SCHEMA};
use instances::Instances;
use store::Store;

/// What an emulator accepts and serves.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Accepted access keys (and STS tokens).
    pub credentials: Vec<Credential>,
    /// `(project, schemas)`: `None` for a 2-tier project, `Some` for a
    /// 3-tier one with these schemas (plus `default`).
    pub projects: Vec<(String, Option<Vec<String>>)>,
    /// Region for V4 signature scopes.
    pub region: String,
    /// Owner reported for projects, tables and instances.
    pub owner: String,
    /// `odps.namespace.schema` in `GET /tenants`.
    pub tenant_schemas: bool,
    /// How long an offline job takes before it settles.
    pub offline_job: JobTime,
    /// How long a MaxQA job takes before it settles.
    pub maxqa_job: JobTime,
    /// Longest time `?instancestatus` is held while the instance runs (the
    /// service holds it about 5 s and answers as soon as the job ends).
    pub status_hold: std::time::Duration,
    /// Quotas by nickname: `true` for an interactive (MaxQA) quota.
    pub quotas: BTreeMap<String, bool>,
    /// The quota `GET /connection/mcqa` picks when none is named.
    pub default_mcqa_quota: Option<String>,
    /// Rows a MaxQA status answer carries inline before it says
    /// `TRUNCATED`.
    pub mcqa_inline_rows: usize,
}

/// The time model of one kind of job: waiting for resources, then
/// running. A job settles `queue + run` after it is created (or when its
/// SQL finishes, if that is later).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobTime {
    /// Time in the queue.
    pub queue: std::time::Duration,
    /// Time running.
    pub run: std::time::Duration,
}

impl JobTime {
    /// `queue` then `run`.
    pub fn new(queue: std::time::Duration, run: std::time::Duration) -> JobTime {
        JobTime { queue, run }
    }

    /// The whole time.
    pub fn total(&self) -> std::time::Duration {
        self.queue + self.run
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig::new()
    }
}

impl EmulatorConfig {
    /// No keys, no projects, region `cn-hangzhou`.
    pub fn new() -> EmulatorConfig {
        EmulatorConfig {
            credentials: Vec::new(),
            projects: Vec::new(),
            region: "cn-hangzhou".into(),
            owner: "ALIYUN$emulator@aliyun.com".into(),
            tenant_schemas: false,
            offline_job: JobTime::default(),
            maxqa_job: JobTime::default(),
            status_hold: std::time::Duration::from_secs(5),
            quotas: BTreeMap::new(),
            default_mcqa_quota: None,
            mcqa_inline_rows: 10_000,
        }
    }

    /// Add a quota; `interactive` makes it a MaxQA (`FUXI_VW`) quota.
    /// The first interactive quota is the default MaxQA connection.
    pub fn quota(mut self, nickname: &str, interactive: bool) -> EmulatorConfig {
        self.quotas.insert(nickname.into(), interactive);
        if interactive && self.default_mcqa_quota.is_none() {
            self.default_mcqa_quota = Some(nickname.into());
        }
        self
    }

    /// Set the time model of offline and MaxQA jobs.
    pub fn job_times(mut self, offline: JobTime, maxqa: JobTime) -> EmulatorConfig {
        self.offline_job = offline;
        self.maxqa_job = maxqa;
        self
    }

    /// Accept a permanent access key.
    pub fn credential(mut self, id: &str, secret: &str) -> EmulatorConfig {
        self.credentials.push(Credential {
            access_key_id: id.into(),
            access_key_secret: secret.into(),
            security_token: None,
        });
        self
    }

    /// Accept a temporary (STS) access key with its token.
    pub fn sts_credential(mut self, id: &str, secret: &str, token: &str) -> EmulatorConfig {
        self.credentials.push(Credential {
            access_key_id: id.into(),
            access_key_secret: secret.into(),
            security_token: Some(token.into()),
        });
        self
    }

    /// Add a 2-tier project.
    pub fn project(mut self, name: &str) -> EmulatorConfig {
        self.projects.push((name.to_ascii_lowercase(), None));
        self
    }

    /// Add a 3-tier project with these schemas (besides `default`).
    pub fn project_with_schemas(mut self, name: &str, schemas: &[&str]) -> EmulatorConfig {
        let schemas = schemas.iter().map(|s| s.to_ascii_lowercase()).collect();
        self.projects
            .push((name.to_ascii_lowercase(), Some(schemas)));
        self
    }

    /// Set the region.
    pub fn region(mut self, region: &str) -> EmulatorConfig {
        self.region = region.into();
        self
    }
}

/// One request as the emulator saw it (for assertions).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Method.
    pub method: String,
    /// True for the tunnel plane (no `/api`).
    pub tunnel: bool,
    /// Path after the plane prefix, decoded.
    pub path: String,
    /// Decoded query parameters.
    pub params: BTreeMap<String, String>,
    /// Headers (lower-case names), without `authorization`.
    pub headers: Vec<(String, String)>,
    /// Signature scheme, when the request authenticated.
    pub signature: Option<SignatureVersion>,
    /// HTTP status answered.
    pub status: u16,
    /// The emulator's own time for the request, from arrival until the
    /// response head was ready (a streamed body is produced after this),
    /// so benchmarks can set the client's overhead against it.
    pub handled_in: std::time::Duration,
}

/// State shared by the server task and the test's handle.
pub struct Shared {
    /// Configuration.
    pub config: EmulatorConfig,
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    /// Metadata.
    pub catalog: Mutex<Catalog>,
    /// Rows.
    pub store: Store,
    /// Fault switches.
    pub faults: Faults,
    /// SQL instances.
    pub instances: Mutex<Instances>,
    /// Every request seen.
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Woken whenever an instance settles or is terminated, to end the
    /// holds of `?instancestatus`.
    pub changed: tokio::sync::Notify,
}

/// Lock a mutex, recovering from poisoning (a panicking test thread must
/// not take the emulator down with it).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts emulators.
pub struct Emulator;

impl Emulator {
    /// Bind `127.0.0.1:0`, create the backing database and the projects,
    /// and serve until the handle is dropped.
    pub async fn start(config: EmulatorConfig) -> EmulatorHandle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let store = Store::create().await;
        let now = chrono::Utc::now().timestamp();
        let mut catalog = Catalog::default();
        for (name, schemas) in &config.projects {
            let mut all = vec![DEFAULT_SCHEMA.to_string()];
            all.extend(schemas.iter().flatten().cloned());
            for schema in &all {
                store
                    .create_schema(&TableId::new(name, schema, "x").pg_schema())
                    .await;
            }
            catalog.projects.insert(
                name.clone(),
                Project {
                    name: name.clone(),
                    three_tier: schemas.is_some(),
                    schemas: all,
                    created: now,
                    properties: BTreeMap::new(),
                },
            );
        }
        let shared = Arc::new(Shared {
            config,
            addr,
            catalog: Mutex::new(catalog),
            store,
            faults: Faults::default(),
            instances: Mutex::new(Instances::default()),
            requests: Mutex::new(Vec::new()),
            changed: tokio::sync::Notify::new(),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = router::app(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
        });
        EmulatorHandle {
            shared,
            stop: Some(stop_tx),
            server,
        }
    }
}

/// A running emulator; stops serving when dropped.
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.abort();
    }
}

impl EmulatorHandle {
    /// The service endpoint, `http://127.0.0.1:PORT/api`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/api", self.shared.addr)
    }

    /// The tunnel endpoint, `http://127.0.0.1:PORT`.
    pub fn tunnel_endpoint(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The fault switches.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Set a project property (as `setproject name=value` would), shown by
    /// `GET /projects/{p}?properties=all`.
    pub fn set_project_property(&self, project: &str, name: &str, value: &str) {
        lock(&self.shared.catalog)
            .projects
            .get_mut(project)
            .unwrap_or_else(|| panic!("no project {project}"))
            .properties
            .insert(name.to_string(), value.to_string());
    }

    /// Create a table (and its PostgreSQL storage).
    pub async fn create_table(&self, spec: &TableSpec) {
        {
            let catalog = lock(&self.shared.catalog);
            let project = catalog
                .projects
                .get(&spec.id.project)
                .unwrap_or_else(|| panic!("no project {}", spec.id.project));
            assert!(
                project.schemas.contains(&spec.id.schema),
                "no schema {} in {}",
                spec.id.schema,
                spec.id.project
            );
        }
        self.shared.store.create_table(spec).await;
        let table = Table {
            spec: spec.clone(),
            created: chrono::Utc::now().timestamp(),
            partitions: BTreeMap::new(),
        };
        lock(&self.shared.catalog)
            .tables
            .insert(spec.id.clone(), table);
    }

    /// Insert rows: `values` is a PostgreSQL `VALUES` list in column order
    /// (data columns, then partition keys), e.g. `(1, 'a', '20240101')`.
    /// Partitions that receive rows are registered.
    pub async fn insert(&self, table: &str, values: &str) {
        let id = TableId::parse(table);
        self.shared
            .store
            .setup(&format!(
                "INSERT INTO {} VALUES {values}",
                id.pg_qualified()
            ))
            .await;
        let keys: Vec<String> = {
            let catalog = lock(&self.shared.catalog);
            let t = catalog.tables.get(&id).expect("insert into a known table");
            t.spec
                .partition_keys
                .iter()
                .map(|k| k.name.clone())
                .collect()
        };
        if keys.is_empty() {
            return;
        }
        let tuples = self
            .shared
            .store
            .partitions_with_rows(&id, &keys)
            .await
            .expect("read partitions");
        for (tuple, records, size) in tuples {
            let values = keys.iter().cloned().zip(tuple).collect();
            self.register_partition(&id, values, records, size);
        }
    }

    /// Register an (empty) partition, `spec` like `ds=20240103/hh=01`.
    pub fn add_partition(&self, table: &str, spec: &str) {
        let values = spec
            .split('/')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        self.register_partition(&TableId::parse(table), values, 0, 0);
    }

    /// Register a partition, or update the row and byte counts of one
    /// already registered.
    fn register_partition(
        &self,
        id: &TableId,
        values: Vec<(String, String)>,
        records: i64,
        size: i64,
    ) {
        let mut catalog = lock(&self.shared.catalog);
        let table = catalog.tables.get_mut(id).expect("known table");
        let p = Partition {
            values,
            created: chrono::Utc::now().timestamp(),
            records,
            size,
        };
        let entry = table
            .partitions
            .entry(p.spec())
            .or_insert_with(|| p.clone());
        entry.records = records;
        entry.size = size;
    }

    /// Every instance created so far, oldest first.
    pub fn instances(&self) -> Vec<InstanceRecord> {
        lock(&self.shared.instances).records()
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }
}
