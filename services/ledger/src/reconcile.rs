//! Reconciliation: the ledger's levels against the stock service's, as a command
//! (`inventory-ledger reconcile`, exit 1 on any difference) and as `GET /reconcile`.

use std::process::ExitCode;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use inventory_common::{
    ApiError,
    db::{self, PgPool},
};
use serde::Serialize;

use crate::{
    config::Config,
    models::reconcile::{Difference, count_differences, differences},
};

/// At most this many differences are listed (all are counted).
pub const MAX_LISTED: i64 = 1_000;

/// The outcome of one comparison.
#[derive(Debug, Serialize)]
pub struct Report {
    pub in_sync: bool,
    pub difference_count: i64,
    /// The first [`MAX_LISTED`] differences, by store and product.
    pub differences: Vec<Difference>,
    pub checked_at: DateTime<Utc>,
}

/// Compares the two sets of levels. Both are read in one snapshot (repeatable read), so a movement
/// committed during the comparison cannot show up on one side only.
pub async fn report(pool: &PgPool) -> Result<Report, ApiError> {
    let mut conn = db::conn(pool).await?;
    let checked_at = Utc::now();
    let (difference_count, differences) = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run::<_, ApiError, _>(async |conn| {
            Ok((
                count_differences(conn).await?,
                differences(conn, MAX_LISTED).await?,
            ))
        })
        .await?;
    Ok(Report {
        in_sync: difference_count == 0,
        difference_count,
        differences,
        checked_at,
    })
}

/// `GET /reconcile` on the worker's port (operators): the report as JSON.
#[tracing::instrument(skip_all)]
pub async fn endpoint(pg: web::Data<PgPool>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(report(&pg).await?))
}

/// `inventory-ledger reconcile`: prints each difference; exit 0 when in sync, 1 when not, 2 when
/// the comparison could not run.
pub async fn command(config: Config) -> ExitCode {
    let pool = db::build_pg_pool(
        &config.service.database_url,
        1,
        config.service.db_pool_timeout,
    );
    match report(&pool).await {
        Ok(report) => {
            for d in &report.differences {
                println!("{}", describe(d));
            }
            println!(
                "{} level(s) differ between stock_levels and ledger_levels",
                report.difference_count
            );
            if report.in_sync {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("reconciliation failed: {e}");
            ExitCode::from(2)
        }
    }
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
