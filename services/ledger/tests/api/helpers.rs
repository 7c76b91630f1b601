//! A test's database and stream, workers started on them, and events in the stock service's format.

use std::{collections::BTreeMap, time::Duration};

use chrono::NaiveDate;
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Date, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_common::{db::PgPool, web::ServiceContext};
use inventory_events::{MovementType, StockEvent, fields};
use inventory_ledger::{
    config::{Config, WorkerSettings},
    startup::{Stopper, build, ensure_group},
    stream::{Backlog, StreamKeys, backlog},
    worker::Worker,
};
use inventory_testkit::TestDb;
use redis::{AsyncCommands, aio::MultiplexedConnection};
use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

/// Micros of 2026-11-25T00:00:00Z.
pub const DAY0: i64 = 1_795_564_800_000_000;
pub const DAY: i64 = 86_400_000_000;

/// One test's database, stream names and connections.
pub struct Ledger {
    pub db: TestDb,
    pub config: Config,
    pub pg: PgPool,
    pub keys: StreamKeys,
    pub redis: MultiplexedConnection,
}

/// A worker running in the background.
pub struct Running {
    pub task: JoinHandle<()>,
    pub stop: watch::Sender<bool>,
}

impl Running {
    /// Raises the shutdown flag and waits for the loop to finish its batch and return.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the worker stops")
            .expect("the worker does not panic");
    }
}

/// A whole worker process (consumer loop, healer, housekeeping, HTTP port) in the background.
pub struct Process {
    /// Its HTTP port.
    pub port: u16,
    stopper: Stopper,
    running: JoinHandle<std::io::Result<()>>,
}

impl Process {
    /// Builds the process from `config` and runs it until [`Process::stop`].
    pub async fn start(config: Config) -> Self {
        let app = build(config).await.expect("the worker starts");
        Self {
            port: app.port,
            stopper: app.stopper(),
            running: tokio::spawn(app.run_until_stopped()),
        }
    }

    /// Stops it as a signal would, and requires it to finish in time and cleanly (exit 0).
    pub async fn stop(self) {
        self.stopper.stop().await;
        tokio::time::timeout(Duration::from_secs(30), self.running)
            .await
            .expect("stops in time")
            .expect("no panic")
            .expect("clean stop");
    }
}

/// Fast settings for tests: small blocks and a short claim time.
pub fn settings(consumer: &str) -> WorkerSettings {
    WorkerSettings {
        consumer: consumer.into(),
        batch_size: 200,
        block: Duration::from_millis(100),
        claim_idle: Duration::from_millis(300),
        max_deliveries: 5,
        stream_keep: Duration::from_secs(120),
    }
}

impl Ledger {
    /// A fresh database and stream prefix, with the consumer group created.
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let config = Config {
            service: inventory_testkit::service_config("ledger", &db),
            worker: settings("unused"),
            heal: Default::default(),
        };
        let ctx = ServiceContext::without_auth("ledger", config.service.clone()).expect("context");
        ensure_group(&ctx).await;
        Self {
            keys: StreamKeys::new(&config.service),
            pg: ctx.pg.clone(),
            redis: inventory_testkit::redis().await,
            config,
            db,
        }
    }

    /// A worker that has not started (to drive it step by step).
    pub fn worker(&self, settings: WorkerSettings) -> (Worker, watch::Sender<bool>) {
        let (stop, stopping) = watch::channel(false);
        let client = redis::Client::open(self.config.service.redis_url.as_str()).expect("url");
        let worker = Worker::new(
            settings,
            self.pg.clone(),
            client,
            self.keys.clone(),
            stopping,
        );
        (worker, stop)
    }

    /// Starts a consumer loop in the background.
    pub fn spawn(&self, settings: WorkerSettings) -> Running {
        let (worker, stop) = self.worker(settings);
        Running {
            task: tokio::spawn(worker.run()),
            stop,
        }
    }

    /// Publishes events as the stock service's relay does: `event_id`, `type`, `payload`,
    /// `traceparent`.
    pub async fn publish(&mut self, events: &[StockEvent]) {
        for chunk in events.chunks(500) {
            let mut pipe = redis::pipe();
            for e in chunk {
                pipe.xadd(
                    &self.keys.events,
                    "*",
                    &[
                        (fields::EVENT_ID, e.event_id.as_bytes().to_vec()),
                        (
                            fields::TYPE,
                            e.movement_type().api_name().as_bytes().to_vec(),
                        ),
                        (fields::PAYLOAD, e.to_bytes()),
                        (fields::TRACEPARENT, e.traceparent.as_bytes().to_vec()),
                    ],
                )
                .ignore();
            }
            pipe.query_async::<()>(&mut self.redis).await.expect("xadd");
        }
    }

    /// Adds an entry with arbitrary fields.
    pub async fn publish_raw(&mut self, fields: &[(&str, Vec<u8>)]) {
        let _: String = self
            .redis
            .xadd(&self.keys.events, "*", fields)
            .await
            .expect("xadd");
    }

    /// The group's backlog and the DLQ length.
    pub async fn backlog(&mut self) -> Backlog {
        backlog(&mut self.redis, &self.keys).await.expect("backlog")
    }

    /// Waits (up to a minute) until every entry is delivered and acknowledged.
    pub async fn drained(&mut self) {
        for _ in 0..600 {
            let b = self.backlog().await;
            if b.pending == 0 && b.lag == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the stream was not drained: {:?}", self.backlog().await);
    }

    /// The DLQ's entries as field maps.
    pub async fn dlq(&mut self) -> Vec<BTreeMap<String, String>> {
        let reply: redis::streams::StreamRangeReply =
            self.redis.xrange_all(&self.keys.dlq).await.expect("xrange");
        reply
            .ids
            .into_iter()
            .map(|e| {
                e.map
                    .into_iter()
                    .map(|(k, v)| {
                        let text = match v {
                            redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                            other => format!("{other:?}"),
                        };
                        (k, text)
                    })
                    .collect()
            })
            .collect()
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        self.db.connect().await
    }

    /// The whole state of the projections, for comparisons.
    pub async fn projections(&self) -> Projections {
        let mut conn = self.conn().await;
        Projections {
            entries: count(&mut conn, "SELECT count(*) AS n FROM ledger_entries").await,
            daily: diesel::sql_query(
                "SELECT store_id, product_id, day, qty_in, qty_out, closing \
                 FROM ledger_daily ORDER BY store_id, product_id, day",
            )
            .load(&mut conn)
            .await
            .expect("daily"),
            levels: diesel::sql_query(
                "SELECT store_id, product_id, quantity, reorder_level, version \
                 FROM ledger_levels ORDER BY store_id, product_id",
            )
            .load(&mut conn)
            .await
            .expect("levels"),
            open_alerts: diesel::sql_query(
                "SELECT store_id, product_id, quantity, reorder_level \
                 FROM low_stock_alerts WHERE closed_at IS NULL ORDER BY store_id, product_id",
            )
            .load(&mut conn)
            .await
            .expect("alerts"),
        }
    }
}

pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .await
        .expect("count")
        .n
}

#[derive(Debug, PartialEq, Eq, QueryableByName)]
pub struct DailyRow {
    #[diesel(sql_type = SqlUuid)]
    pub store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub qty_in: i64,
    #[diesel(sql_type = BigInt)]
    pub qty_out: i64,
    #[diesel(sql_type = BigInt)]
    pub closing: i64,
}

#[derive(Debug, PartialEq, Eq, QueryableByName)]
pub struct LevelRow {
    #[diesel(sql_type = SqlUuid)]
    pub store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub quantity: i64,
    #[diesel(sql_type = BigInt)]
    pub reorder_level: i64,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
}

#[derive(Debug, PartialEq, Eq, QueryableByName)]
pub struct AlertRow {
    #[diesel(sql_type = SqlUuid)]
    pub store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub quantity: i64,
    #[diesel(sql_type = BigInt)]
    pub reorder_level: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Projections {
    pub entries: i64,
    pub daily: Vec<DailyRow>,
    pub levels: Vec<LevelRow>,
    pub open_alerts: Vec<AlertRow>,
}

/// (store, product, day) → (in, out, closing, closing version).
pub type DailyTotals = BTreeMap<(Uuid, Uuid, NaiveDate), (i64, i64, i64, i64)>;

/// Builds the event history of levels, as the stock service would emit it.
pub struct History {
    pub events: Vec<StockEvent>,
}

impl History {
    /// `per_level` movements on each of `stores` × `products` levels, spread over three days,
    /// with a reorder level of 10 (so some levels end low and some alerts open and close).
    pub fn generate(stores: usize, products: usize, per_level: usize) -> Self {
        let mut events = Vec::new();
        for _ in 0..stores {
            let store = Uuid::now_v7();
            for p in 0..products {
                let product = Uuid::now_v7();
                let mut quantity = 0i64;
                for v in 1..=per_level as i64 {
                    // Deterministic but varied: stock in on every third movement, sales otherwise.
                    let delta = if v % 3 == 1 || quantity == 0 {
                        (v % 7 + 5) * 2
                    } else {
                        -((v + p as i64) % 5 + 1).min(quantity)
                    };
                    quantity += delta;
                    let micros = DAY0 + (v * 3 * DAY) / (per_level as i64 + 1);
                    events.push(event(store, product, delta, quantity, v, 10, micros));
                }
            }
        }
        Self { events }
    }

    /// The projections these events must produce, computed independently of the worker.
    pub fn expected_daily(&self) -> DailyTotals {
        let mut daily: DailyTotals = BTreeMap::new();
        for e in &self.events {
            let day = chrono::DateTime::from_timestamp_micros(e.occurred_at_micros)
                .unwrap()
                .date_naive();
            let key = (
                e.store_id.parse().unwrap(),
                e.product_id.parse().unwrap(),
                day,
            );
            let row = daily.entry(key).or_insert((0, 0, 0, 0));
            if e.delta > 0 {
                row.0 += e.delta;
            } else {
                row.1 -= e.delta;
            }
            if e.level_version > row.3 {
                row.2 = e.quantity_after;
                row.3 = e.level_version;
            }
        }
        daily
    }
}

/// One event of a level.
pub fn event(
    store: Uuid,
    product: Uuid,
    delta: i64,
    after: i64,
    version: i64,
    reorder_level: i64,
    micros: i64,
) -> StockEvent {
    StockEvent {
        event_id: Uuid::now_v7().to_string(),
        movement_id: Uuid::now_v7().to_string(),
        store_id: store.to_string(),
        product_id: product.to_string(),
        level_id: Uuid::now_v7().to_string(),
        movement_type: if delta > 0 {
            MovementType::StockIn
        } else {
            MovementType::Sale
        } as i32,
        quantity: delta.abs(),
        delta,
        quantity_after: after,
        level_version: version,
        reorder_level,
        user_id: Uuid::now_v7().to_string(),
        request_id: "test".into(),
        occurred_at_micros: micros,
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        ..Default::default()
    }
}

/// Checks the daily rows against what `history` must produce.
pub fn assert_daily(projections: &Projections, history: &History) {
    let expected = history.expected_daily();
    let actual: DailyTotals = projections
        .daily
        .iter()
        .map(|r| {
            let version = expected
                .get(&(r.store_id, r.product_id, r.day))
                .map_or(0, |e| e.3);
            (
                (r.store_id, r.product_id, r.day),
                (r.qty_in, r.qty_out, r.closing, version),
            )
        })
        .collect();
    assert_eq!(actual, expected);
}
