//! `inventory-ledger`: the ledger worker (see the README for its configuration), or
//! `inventory-ledger reconcile` to compare the ledger with the stock levels once.

use std::process::ExitCode;

use inventory_ledger::{config::Config, reconcile, startup};

#[actix_web::main]
async fn main() -> ExitCode {
    let _telemetry = inventory_common::telemetry::init("ledger");
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            return ExitCode::from(2);
        }
    };
    match std::env::args().nth(1).as_deref() {
        None => serve(config).await,
        Some("reconcile") => reconcile::command(config).await,
        Some(other) => {
            eprintln!("unknown command `{other}`; usage: inventory-ledger [reconcile]");
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let app = match startup::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
