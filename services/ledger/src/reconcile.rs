//! Reconciliation: the ledger against the stock service's tables — movement counts, the in/out/net
//! of every store, product and day, and current levels — as a command (`inventory-ledger reconcile
//! [--repair]`), as `GET /reconcile`, and periodically in the worker. `inventory-ledger rebuild`
//! re-derives every projection from `stock_movements` and `stock_levels`.

use std::process::ExitCode;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use inventory_common::{
    ApiError,
    db::{self, PgPool},
};
use serde::Serialize;

use crate::{
    config::Config,
    models::{
        heal::{Repaired, repair_all},
        ledger::lock_exclusive,
        reconcile::{
            DayDifference, Difference, MovementCounts, Scope, day_differences, level_differences,
            movement_counts,
        },
    },
};

/// At most this many differences of each kind are listed (all are counted).
pub const MAX_LISTED: i64 = 1_000;

/// The outcome of one comparison.
#[derive(Debug, Serialize)]
pub struct Report {
    pub in_sync: bool,
    /// Levels whose quantity or reorder level differ.
    pub difference_count: i64,
    /// The first [`MAX_LISTED`] level differences, by store and product.
    pub differences: Vec<Difference>,
    pub movements: MovementCounts,
    /// (store, product, day) whose in, out or net differ from the movements.
    pub day_difference_count: i64,
    pub day_differences: Vec<DayDifference>,
    /// Only movements and level changes before this were compared.
    pub cut: DateTime<Utc>,
    /// Only what changed at or after this was compared (`null`: everything; see [`Scope`]).
    pub since: Option<DateTime<Utc>>,
    pub checked_at: DateTime<Utc>,
}

impl Report {
    /// Every kind of difference, added up.
    pub fn total(&self) -> i64 {
        self.difference_count
            + self.day_difference_count
            + self.movements.missing
            + self.movements.orphaned
            + self.movements.differing
    }
}

/// Compares what `scope` covers in one snapshot (repeatable read), so a movement committed during
/// the comparison cannot show up on one side only.
pub async fn report(pool: &PgPool, scope: Scope) -> Result<Report, ApiError> {
    let mut conn = db::conn(pool).await?;
    let checked_at = Utc::now();
    let ((difference_count, differences), movements, (day_difference_count, day_differences)) =
        conn.build_transaction()
            .repeatable_read()
            .read_only()
            .run::<_, ApiError, _>(async |conn| {
                Ok((
                    level_differences(conn, &scope, MAX_LISTED).await?,
                    movement_counts(conn, &scope).await?,
                    day_differences(conn, &scope, MAX_LISTED).await?,
                ))
            })
            .await?;
    let mut report = Report {
        in_sync: false,
        difference_count,
        differences,
        movements,
        day_difference_count,
        day_differences,
        cut: scope.cut,
        since: scope.since,
        checked_at,
    };
    report.in_sync = report.total() == 0;
    Ok(report)
}

/// Repairs everything changed before `cut` in one transaction holding the exclusive projection
/// lock: batches being applied finish first, new ones wait (safe while workers run).
pub async fn repair(pool: &PgPool, cut: DateTime<Utc>) -> Result<Repaired, ApiError> {
    let mut conn = db::conn(pool).await?;
    let repaired = conn
        .transaction::<_, ApiError, _>(async |conn| {
            lock_exclusive(conn).await?;
            Ok(repair_all(conn, cut).await?)
        })
        .await?;
    crate::metrics::repaired(&repaired);
    Ok(repaired)
}

/// `GET /reconcile` on the worker's port (operators): the report as JSON.
#[tracing::instrument(skip_all)]
pub async fn endpoint(pg: web::Data<PgPool>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(report(&pg, Scope::everything(Utc::now())).await?))
}

fn command_pool(config: &Config) -> PgPool {
    db::build_pg_pool(
        &config.service.database_url,
        1,
        config.service.db_pool_timeout,
    )
}

/// `inventory-ledger reconcile [--repair]`: prints each difference; with `--repair`, fixes them and
/// compares again. Exit 0 when in sync (or repaired), 1 when differences remain, 2 when the
/// comparison could not run.
pub async fn command(config: Config, fix: bool) -> ExitCode {
    let pool = command_pool(&config);
    let outcome = async {
        let report = report(&pool, Scope::everything(Utc::now())).await?;
        print_report(&report);
        if report.in_sync || !fix {
            return Ok(report.in_sync);
        }
        let repaired = repair(&pool, Utc::now()).await?;
        println!("repaired: {repaired:?}");
        // What existed at the first comparison must now be in sync; later writes are for the next run.
        let after = self::report(&pool, Scope::everything(report.checked_at)).await?;
        print_report(&after);
        Ok::<_, ApiError>(after.in_sync)
    };
    match outcome.await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("reconciliation failed: {e}");
            ExitCode::from(2)
        }
    }
}

/// `inventory-ledger rebuild`: re-derives every projection (entries from `stock_movements`, daily
/// rows from the entries, levels and alerts from `stock_levels`), rewriting only rows that differ,
/// so running it twice changes nothing the second time. Safe while workers run (exclusive
/// projection lock). Exit 0 on success, 2 when it could not run.
pub async fn rebuild(config: Config) -> ExitCode {
    let pool = command_pool(&config);
    let started = std::time::Instant::now();
    match repair(&pool, Utc::now()).await {
        Ok(r) => {
            println!(
                "rebuilt in {:.1}s: {} entries backfilled, {} orphaned entries deleted, {} entries \
                 corrected, {} daily rows, {} levels, {} alerts changed",
                started.elapsed().as_secs_f64(),
                r.backfilled,
                r.orphans_deleted,
                r.entries_corrected,
                r.daily_rows,
                r.levels,
                r.alerts
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rebuild failed: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_report(report: &Report) {
    let m = &report.movements;
    println!(
        "movements: {} in stock_movements, {} ledger entries, {} missing, {} orphaned, {} differing",
        m.movements, m.entries, m.missing, m.orphaned, m.differing
    );
    for d in &report.day_differences {
        println!(
            "store {} product {} day {}: movements in {} out {} net {}, ledger in {} out {} net {}",
            d.store_id,
            d.product_id,
            d.day,
            d.movements_in,
            d.movements_out,
            d.movements_net,
            d.ledger_in,
            d.ledger_out,
            d.ledger_net
        );
    }
    println!(
        "{} day(s) differ between stock_movements and ledger_daily",
        report.day_difference_count
    );
    for d in &report.differences {
        println!("{}", describe(d));
    }
    println!(
        "{} level(s) differ between stock_levels and ledger_levels",
        report.difference_count
    );
    println!(
        "{}",
        if report.in_sync {
            "in sync"
        } else {
            "NOT in sync"
        }
    );
}

fn describe(d: &Difference) -> String {
    let side = |q: Option<i64>, v: Option<i64>| match (q, v) {
        (Some(q), Some(v)) => format!("{q} (version {v})"),
        _ => "missing".to_owned(),
    };
    format!(
        "store {} product {}: stock {}, ledger {}",
        d.store_id,
        d.product_id,
        side(d.stock_quantity, d.stock_version),
        side(d.ledger_quantity, d.ledger_version),
    )
}
