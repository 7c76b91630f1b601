//! `inventory-catalog`: see the README for its configuration.

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let _telemetry = inventory_common::telemetry::init("catalog");
    inventory_common::web::run(
        inventory_catalog::config::Config::from_env(),
        inventory_catalog::startup::build,
    )
    .await
}
