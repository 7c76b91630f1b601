//! `inventory-auth`: see the README for its configuration.

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let _telemetry = inventory_common::telemetry::init("auth");
    inventory_common::web::run(
        inventory_auth::config::Config::from_env(),
        inventory_auth::startup::build,
    )
    .await
}
