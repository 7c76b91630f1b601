//! `inventory-stock`: see the README for its configuration.

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let _telemetry = inventory_common::telemetry::init("stock");
    inventory_common::web::run(
        inventory_stock::config::Config::from_env(),
        inventory_stock::startup::build,
    )
    .await
}
