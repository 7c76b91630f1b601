//! `inventory-ledger`: see the README for its configuration.

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let _telemetry = inventory_common::telemetry::init("ledger");
    inventory_common::web::run(
        inventory_ledger::config::Config::from_env(),
        inventory_ledger::startup::build,
    )
    .await
}
