//! `inventory-migrate`: applies the migrations to `DATABASE_URL` (a role that may create tables and
//! roles). Safe to run twice, and from two processes at once.

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::process::ExitCode {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("inventory-migrate: DATABASE_URL is required");
        return std::process::ExitCode::from(2);
    };
    match inventory_db::run_migrations(&url).await {
        Ok(applied) if applied.is_empty() => {
            println!("inventory-migrate: schema is up to date");
            std::process::ExitCode::SUCCESS
        }
        Ok(applied) => {
            println!("inventory-migrate: applied {}", applied.join(", "));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("inventory-migrate: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
