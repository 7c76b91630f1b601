//! `inventory-ledger`: the ledger worker (see the README for its configuration);
//! `inventory-ledger reconcile [--repair]` compares the ledger with the stock tables once (and
//! repairs it); `inventory-ledger rebuild` re-derives every projection from the stock tables.

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => serve(config).await,
        ["reconcile"] => reconcile::command(config, false).await,
        ["reconcile", "--repair"] => reconcile::command(config, true).await,
        ["rebuild"] => reconcile::rebuild(config).await,
        _ => {
            eprintln!(
                "unknown command `{}`; usage: inventory-ledger [reconcile [--repair] | rebuild]",
                args.join(" ")
            );
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
