//! The `aviary-server` binary: parses the command line and environment into a
//! [`aviary_server::ServerConfig`] and runs the server (or a maintenance command).

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aviary-server",
    about = "Aviary fleet server: REST + WebSocket over PostgreSQL and MQTT"
)]
struct Cli {
    /// PostgreSQL connection string.
    #[arg(
        long,
        env = "AVIARY_DATABASE_URL",
        default_value = "host=127.0.0.1 user=postgres dbname=postgres"
    )]
    database_url: String,
    /// Schema holding the server's tables.
    #[arg(long, env = "AVIARY_DB_SCHEMA", default_value = "aviary")]
    db_schema: String,
    /// MQTT broker: `host:port`, `mqtt://[user:password@]host[:port]` or
    /// `mqtts://[user:password@]host[:port][?ca=PATH]` (TLS; the system's CAs without `ca=`).
    #[arg(
        long,
        env = "AVIARY_MQTT",
        default_value = "127.0.0.1:1883",
        hide_env_values = true
    )]
    mqtt: String,
    /// Prefix of every MQTT topic (`acme` gives `acme/drones/{id}/telemetry`, …). Empty (the
    /// default): the design's names at the root, which the desktop app and simulated drones
    /// use. Two deployments on one broker with different prefixes (and share groups, see
    /// `serve --deployment`) each see only their own drones; `broker-acl` scopes its rules to it.
    #[arg(long, env = "AVIARY_TOPIC_PREFIX", default_value = "")]
    topic_prefix: String,
    /// Key of the audit chain's HMAC (at least 32 bytes): `serve`, `bootstrap` and
    /// `audit-verify` need the same one. Keep it outside the database.
    #[arg(long, env = "AVIARY_AUDIT_SECRET", hide_env_values = true)]
    audit_secret: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Listen address.
        #[arg(long, env = "AVIARY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Deployment name: the default of the share group and of the instance name. Two
        /// deployments on one broker need different names.
        #[arg(long, env = "AVIARY_DEPLOYMENT", default_value = "aviary")]
        deployment: String,
        /// The ingest's MQTT shared-subscription group (default: the deployment name).
        #[arg(long, env = "AVIARY_SHARE_GROUP")]
        share_group: Option<String>,
        /// Stable instance name (default `{deployment}-{host name}`): keys the ingest's
        /// persistent MQTT session, so a restart under the same name loses nothing. Unique per
        /// instance and kept across restarts (with containers, a Kubernetes `StatefulSet`'s pod name).
        #[arg(long, env = "AVIARY_INSTANCE")]
        instance: Option<String>,
        /// On SIGTERM/SIGINT leave the share group for good (scaling down) instead of keeping
        /// the session for a restart.
        #[arg(long, env = "AVIARY_LEAVE_ON_STOP")]
        leave_on_stop: bool,
        /// JWT secret (at least 32 bytes).
        #[arg(long, env = "AVIARY_JWT_SECRET")]
        jwt_secret: String,
        /// Allowed WebSocket origins, comma separated.
        #[arg(
            long,
            env = "AVIARY_ALLOWED_ORIGINS",
            default_value = "http://localhost:8080"
        )]
        allowed_origins: String,
        /// PagerDuty Events v2 URL (http) for alerts.
        #[arg(long, env = "AVIARY_ALERT_URL")]
        alert_url: Option<String>,
        /// PagerDuty routing key.
        #[arg(long, env = "AVIARY_ALERT_ROUTING_KEY", default_value = "")]
        alert_routing_key: String,
        /// API requests per user per second.
        #[arg(long, default_value_t = 100)]
        api_rate: u32,
        /// Telemetry retention, days.
        #[arg(long, default_value_t = 730)]
        retention_days: i64,
        /// The broker's `max_inflight_messages` (20 for a default Mosquitto, 1000 in
        /// deploy/mosquitto): the ingest commits a batch at half this many unacknowledged
        /// messages.
        #[arg(long, env = "AVIARY_MQTT_INFLIGHT", default_value_t = 20)]
        broker_inflight: usize,
    },
    /// Apply migrations and exit.
    Migrate,
    /// Remove a stopped instance from the ingest's share group for good: ends its persistent
    /// MQTT session (what the broker queued for it is dropped) and its membership record. For
    /// an instance reported as a stale member that will not come back.
    Leave {
        /// The instance's name.
        #[arg(long)]
        instance: String,
        /// Its deployment.
        #[arg(long, env = "AVIARY_DEPLOYMENT", default_value = "aviary")]
        deployment: String,
        /// Its share group (default: the deployment name).
        #[arg(long, env = "AVIARY_SHARE_GROUP")]
        share_group: Option<String>,
    },
    /// Print the broker's ACL: the shipped drone and server rules and one desktop user per
    /// organisation, scoped to its own drones (`> /etc/mosquitto/aviary.acl`, then SIGHUP).
    BrokerAcl,
    /// Create an organisation and its first admin.
    Bootstrap {
        /// Organisation name.
        #[arg(long)]
        org: String,
        /// Admin e-mail.
        #[arg(long)]
        email: String,
        /// Admin password (or env `AVIARY_ADMIN_PASSWORD`).
        #[arg(long, env = "AVIARY_ADMIN_PASSWORD")]
        password: String,
    },
    /// Verify the audit log's keyed hash chain, its signed head and checkpoints.
    AuditVerify {
        /// A checkpoint published earlier (`{"seq":..,"hash":..,"signature":..}` from the log or
        /// an earlier verification); rows deleted since are detected. May be repeated.
        #[arg(long)]
        checkpoint: Vec<String>,
    },
}

fn base_config(cli: &Cli) -> anyhow::Result<aviary_server::ServerConfig> {
    let mut c = aviary_server::ServerConfig::local_defaults();
    c.database_url.clone_from(&cli.database_url);
    c.db_schema.clone_from(&cli.db_schema);
    if let Some(secret) = &cli.audit_secret {
        c.audit_secret = secret.clone().into_bytes();
    }
    c.set_broker_url(&cli.mqtt).context("--mqtt")?;
    aviary_server::topics::check_prefix(&cli.topic_prefix).context("--topic-prefix")?;
    c.mqtt_topic_prefix.clone_from(&cli.topic_prefix);
    Ok(c)
}

/// The audit key, which `serve`, `bootstrap` and `audit-verify` must all be given.
fn audit_key(secret: Option<&str>) -> anyhow::Result<aviary_server::audit::AuditKey> {
    let secret = secret.context(
        "the audit secret is missing: pass --audit-secret or set AVIARY_AUDIT_SECRET \
         (at least 32 bytes, the same for every instance and kept outside the database)",
    )?;
    Ok(aviary_server::audit::AuditKey::new(secret.as_bytes())?)
}

/// This machine's name, for the default instance name (stable across restarts of the same
/// host or `StatefulSet` pod).
/// Resolves when the system asks the server to stop: SIGTERM on Unix (systemd, `docker stop`).
/// Ctrl+C is awaited beside it on every platform.
#[cfg(unix)]
fn stop_requested() -> std::io::Result<impl Future<Output = ()>> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        terminate.recv().await;
    })
}

/// Resolves when the system asks the server to stop: on Windows the console's close or the
/// system's shutdown event. Ctrl+C is awaited beside it on every platform.
#[cfg(windows)]
fn stop_requested() -> std::io::Result<impl Future<Output = ()>> {
    let mut close = tokio::signal::windows::ctrl_close()?;
    let mut shutdown = tokio::signal::windows::ctrl_shutdown()?;
    Ok(async move {
        tokio::select! {
            _ = close.recv() => {}
            _ = shutdown.recv() => {}
        }
    })
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "server".into())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let mut config = base_config(&cli)?;
    let cli_audit_secret = cli.audit_secret.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("aviary-server-worker")
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve {
                listen,
                deployment,
                share_group,
                instance,
                leave_on_stop,
                jwt_secret,
                allowed_origins,
                alert_url,
                alert_routing_key,
                api_rate,
                retention_days,
                broker_inflight,
            } => {
                config.ingest_broker_inflight = broker_inflight.max(2);
                config.listen = listen;
                config.instance_id = instance.unwrap_or_else(|| format!("{deployment}-{}", host_name()));
                config.ingest_share_group = share_group.unwrap_or(deployment);
                tracing::info!(instance = %config.instance_id, group = %config.ingest_share_group, topic_prefix = %config.mqtt_topic_prefix, "ingest identity");
                config.jwt_secret = jwt_secret.into_bytes();
                audit_key(cli_audit_secret.as_deref())?;
                config.allowed_origins = allowed_origins
                    .split(',')
                    .map(str::trim)
                    .map(str::to_owned)
                    .collect();
                config.alert_webhook_url = alert_url;
                config.alert_routing_key = alert_routing_key;
                config.api_per_second = api_rate;
                config.retention = chrono::Duration::days(retention_days);
                let terminate = stop_requested()?;
                let mut server = aviary_server::start(config).await?;
                tokio::select! {
                    () = server.wait() => {}
                    r = tokio::signal::ctrl_c() => { r?; tracing::info!("SIGINT: stopping"); }
                    () = terminate => tracing::info!("stop requested by the system: stopping"),
                }
                if leave_on_stop {
                    server.shutdown().await;
                } else {
                    server.stop_for_restart().await;
                }
                tracing::info!("stopped");
            }
            Command::BrokerAcl => {
                let pool = aviary_server::db::pool(&config.database_url, &config.db_schema, 2)?;
                print!(
                    "{}",
                    aviary_server::broker::broker_acl(&pool.get().await?, config.topics()).await?
                );
            }
            Command::Leave {
                instance,
                deployment,
                share_group,
            } => {
                config.ingest_share_group = share_group.unwrap_or(deployment);
                let pool = aviary_server::db::pool(&config.database_url, &config.db_schema, 2)?;
                aviary_server::db::migrate(&pool, &config.db_schema).await?;
                aviary_server::members::forget(&pool, &config, &instance).await?;
                println!("instance {instance} left share group {}", config.ingest_share_group);
            }
            Command::Migrate => {
                let pool = aviary_server::db::pool(&config.database_url, &config.db_schema, 2)?;
                let applied = aviary_server::db::migrate(&pool, &config.db_schema).await?;
                println!("applied migrations: {applied:?}");
            }
            Command::Bootstrap {
                org,
                email,
                password,
            } => {
                // Checked before the database is touched; no server is started, so the
                // ingest's shared subscription never sees this short-lived process.
                aviary_server::check_bootstrap(&org, &email, &password)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let pool = aviary_server::db::pool(&config.database_url, &config.db_schema, 2)?;
                aviary_server::db::migrate(&pool, &config.db_schema).await?;
                let key = audit_key(cli_audit_secret.as_deref())?;
                let (org_id, user_id) = aviary_server::bootstrap(
                    &pool,
                    &key,
                    aviary_server::auth::PasswordCost::RECOMMENDED,
                    &org,
                    &email,
                    &password,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("organisation {org_id}, admin {user_id}");
            }
            Command::AuditVerify { checkpoint } => {
                let key = audit_key(cli_audit_secret.as_deref())?;
                let published = checkpoint
                    .iter()
                    .map(|c| serde_json::from_str(c).context("--checkpoint"))
                    .collect::<anyhow::Result<Vec<aviary_server::audit::Checkpoint>>>()?;
                let pool = aviary_server::db::pool(&config.database_url, &config.db_schema, 2)?;
                let v = aviary_server::audit::verify(&pool.get().await?, &key, &published).await?;
                println!("{}", serde_json::to_string_pretty(&v)?);
                if !v.ok {
                    anyhow::bail!("audit chain broken");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(())
    })
}
