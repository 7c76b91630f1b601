//! Builds the worker process: the consumer group, the consumer loop, the healer, the stream's
//! housekeeping (backlog metrics, trimming) and the small HTTP port (`/healthz`, `/readyz`, `/metrics`, `/reconcile`).

use std::{sync::Arc, time::Duration};

use actix_web::{dev::ServerHandle, web};
use inventory_common::{
    retry::{self, Backoff},
    web::{ServiceContext, StartupError},
};
use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
};

use crate::{
    config::{Config, GROUP, STREAM},
    heal::Healer,
    health::Health,
    housekeeping, reconcile,
    stream::{StreamKeys, create_group},
    worker::Worker,
};

/// Creates the consumer group (and the stream) if missing. Retries until Redis answers. Returns
/// whether it was missing: Redis may have lost events while no worker ran.
pub async fn ensure_group(ctx: &ServiceContext) -> bool {
    let stream = ctx.config.redis_key(STREAM);
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    let (redis, key) = (&ctx.redis, stream.as_str());
    let created = retry::until_ok(
        backoff,
        "cannot create the consumer group yet",
        || async move {
            let mut conn = redis.get().await.map_err(|e| e.to_string())?;
            create_group(&mut *conn, key)
                .await
                .map_err(|e| e.to_string())
        },
    )
    .await;
    if let Some(start) = created {
        tracing::info!(stream, group = GROUP, start, "created the consumer group");
    }
    created.is_some()
}

/// The running worker process.
pub struct Application {
    /// The HTTP port (useful when configured as 0).
    pub port: u16,
    server: actix_web::dev::Server,
    stopper: Stopper,
    tasks: Vec<JoinHandle<()>>,
    drain_timeout: Duration,
}

/// Stops the consumer (after its current batch) and the HTTP server.
#[derive(Clone)]
pub struct Stopper {
    shutdown: Arc<watch::Sender<bool>>,
    server: ServerHandle,
}

impl Stopper {
    /// Raises the shutdown flag and stops the HTTP server gracefully.
    pub async fn stop(&self) {
        self.shutdown.send_replace(true);
        self.server.stop(true).await;
    }
}

/// Creates the group, starts the consumer loop, the healer and the stream's housekeeping, and binds the
/// HTTP port. All of the worker's Redis traffic is the stream's: it uses `REDIS_STREAM_URL`.
pub async fn build(config: Config) -> Result<Application, StartupError> {
    let mut service = config.service.clone();
    service.redis_url = config.service.stream_url().to_owned();
    let mut ctx = ServiceContext::without_auth("ledger", service)?;
    let created = ensure_group(&ctx).await;
    let keys = StreamKeys::new(&config.service);
    let client = redis::Client::open(ctx.config.redis_url.as_str())?;
    let (shutdown, stopping) = watch::channel(false);
    let health = Health::new(config.heal.stall_after);
    let lost = Arc::new(Notify::new());
    let worker = Worker::new(
        config.worker.clone(),
        ctx.pg.clone(),
        client,
        keys.clone(),
        stopping.clone(),
    )
    .reporting(health.clone(), lost.clone());
    if created {
        // Compare everything and repair soon, as after a loss at run time (the permit waits for
        // the healer).
        lost.notify_one();
    }
    let healer = Healer::new(ctx.pg.clone(), config.heal.clone(), health.clone(), lost);
    let pg = web::Data::new(ctx.pg.clone());
    // `/readyz` also fails while the worker cannot make progress (a persistent error, a stuck backlog).
    let progress = health.clone();
    ctx.progress = Some(Arc::new(move || progress.problems()));
    let server = inventory_common::web::serve(&ctx, move |cfg| {
        cfg.app_data(pg.clone())
            .route("/reconcile", web::get().to(reconcile::endpoint));
    })?;
    let tasks = vec![
        tokio::spawn(worker.run()),
        tokio::spawn(healer.run(stopping.clone())),
        tokio::spawn(housekeeping::run(
            ctx.redis.clone(),
            keys,
            config.worker.stream_keep,
            health,
            stopping,
        )),
    ];
    Ok(Application {
        port: server.port,
        stopper: Stopper {
            shutdown: Arc::new(shutdown),
            server: server.server.handle(),
        },
        server: server.server,
        tasks,
        drain_timeout: config.service.shutdown_timeout,
    })
}

impl Application {
    /// A handle that stops this application (tests, and the signal handler).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until SIGTERM/SIGINT (or [`Stopper::stop`]), then lets the consumer finish and
    /// acknowledge its batch, within the shutdown timeout.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopper = self.stopper.clone();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested: finishing the current batch");
            stopper.stop().await;
        });
        let served = self.server.await;
        self.stopper.shutdown.send_replace(true);
        for task in self.tasks {
            if tokio::time::timeout(self.drain_timeout, task)
                .await
                .is_err()
            {
                tracing::error!("the consumer did not finish within the shutdown timeout");
            }
        }
        signals.abort();
        served
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
