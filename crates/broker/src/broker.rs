//! Starting and stopping a broker: [`Broker::start`] and [`BrokerHandle`].

use std::fs::{self, File};
use std::net::SocketAddr;
use std::sync::Arc;

use nix::fcntl::{Flock, FlockArg};
use sluice_network::{KafkaWire, NetworkStats, RequestBudget, server};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::background;
use crate::config::BrokerConfig;
use crate::errors::{BrokerError, error_chain};
use crate::group::Coordinator;
use crate::group::state::GroupConfig;
use crate::kafka_api::KafkaApi;
use crate::native_api::NativeApi;
use crate::offsets::OffsetStore;
use crate::producers::ProducerIds;
use crate::state::BrokerState;
use crate::topics::{LogSettings, Topics};

/// Entry point for starting a broker in-process.
#[derive(Debug)]
pub struct Broker;

impl Broker {
    /// Opens the data directory (recovering every log), binds the listener
    /// and starts serving. Returns once the broker accepts connections.
    pub async fn start(config: BrokerConfig) -> Result<BrokerHandle, BrokerError> {
        let data_dir = config.data_dir.clone();
        fs::create_dir_all(&data_dir).map_err(|e| BrokerError::io(&data_dir, e))?;
        let lock = lock_data_dir(&data_dir)?;
        let fd_limit = crate::fd_budget::raise();
        let max_open_files = crate::fd_budget::open_files_cap(config.max_open_files, fd_limit);
        if max_open_files < config.max_open_files {
            tracing::warn!(
                configured = config.max_open_files,
                max_open_files,
                "max-open-files lowered to half the file descriptor limit"
            );
        }
        // One cache of sealed segment files for every partition of the broker.
        let file_cache = sluice_storage::FileCache::new(max_open_files);
        let (stop, stopping) = watch::channel(false);
        let open_config = config.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let topics = Topics::open(
                &open_config.data_dir,
                open_config.topic_defaults.clone(),
                LogSettings {
                    write_mode: open_config.write_mode,
                    recycle_segments: open_config.recycle_segments(),
                    file_cache,
                },
                open_config.max_partitions,
            )?;
            let offsets = OffsetStore::open(&open_config.data_dir)?;
            if let Err(error) = offsets.forget_missing_topics(|t| topics.get(t).is_some()) {
                tracing::warn!(%error, "cannot delete the committed offsets of deleted topics");
            }
            let producer_ids = ProducerIds::open(&open_config.data_dir)?;
            Ok::<_, BrokerError>((topics, offsets, producer_ids))
        })
        .await
        .map_err(|e| BrokerError::Task(e.to_string()))??;
        let (topics, offsets, producer_ids) = opened;

        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| BrokerError::Bind {
                    addr: config.listen.clone(),
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| BrokerError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
        let kafka_listener = match &config.kafka_listen {
            Some(addr) => {
                let listener =
                    TcpListener::bind(addr)
                        .await
                        .map_err(|source| BrokerError::Bind {
                            addr: addr.clone(),
                            source,
                        })?;
                let local = listener.local_addr().map_err(|source| BrokerError::Bind {
                    addr: addr.clone(),
                    source,
                })?;
                Some((listener, local))
            }
            None => None,
        };
        let server_config = config.server_config();
        // One budget for both listeners: request memory is bounded per
        // broker, whichever protocol the bytes come in on.
        let request_budget = RequestBudget::new(config.max_request_memory_bytes);
        let groups = Coordinator::new(GroupConfig {
            initial_rebalance_delay: std::time::Duration::from_millis(
                config.group_initial_rebalance_delay_ms,
            ),
            ..GroupConfig::default()
        });
        let state = Arc::new(BrokerState {
            config,
            topics,
            offsets,
            groups,
            producer_ids,
            stopping: stopping.clone(),
        });
        let stats = Arc::new(NetworkStats::default());
        let mut server_stop = stopping.clone();
        let server = tokio::spawn(server::run(
            listener,
            Arc::new(NativeApi::new(state.clone())),
            server_config.clone(),
            stats.clone(),
            request_budget.clone(),
            async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            },
        ));
        // The Kafka listener shares the stats (so its fetch bytes are counted
        // per transfer mode with the native ones), the request memory budget
        // and shutdown, and has limits of the same values.
        let mut kafka_server = None;
        let mut kafka_addr = None;
        if let Some((listener, local)) = kafka_listener {
            let mut kafka_stop = stopping.clone();
            kafka_server = Some(tokio::spawn(server::serve(
                listener,
                Arc::new(KafkaWire::new(Arc::new(KafkaApi::new(state.clone())))),
                server_config,
                stats.clone(),
                request_budget.clone(),
                async move {
                    let _ = kafka_stop.wait_for(|stop| *stop).await;
                },
            )));
            kafka_addr = Some(local);
            info!(addr = %local, "Kafka listener started");
        }
        let timer_state = state.clone();
        let timer_stop = stopping.clone();
        let group_timers =
            tokio::spawn(async move { timer_state.groups.run_timers(timer_stop).await });
        let background = tokio::spawn(background::run(state.clone(), stopping));
        info!(addr = %local_addr, data_dir = %data_dir.display(), transfer_mode = %state.config.transfer_mode, "broker started");
        Ok(BrokerHandle {
            local_addr,
            kafka_addr,
            kafka_server,
            group_timers,
            stats,
            request_budget,
            stop,
            server,
            background,
            state,
            _lock: lock,
        })
    }
}

/// A running broker.
#[derive(Debug)]
pub struct BrokerHandle {
    local_addr: SocketAddr,
    /// Where the Kafka listener listens, when it is on.
    kafka_addr: Option<SocketAddr>,
    kafka_server: Option<JoinHandle<()>>,
    /// Group coordinator timers; on shutdown they answer waiting joins.
    group_timers: JoinHandle<()>,
    stats: Arc<NetworkStats>,
    /// Shared by both listeners; kept for its counters.
    request_budget: RequestBudget,
    /// Sending `true` starts shutdown: the server stops accepting and
    /// reading, long polls answer, the background loop ends.
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    background: JoinHandle<()>,
    state: Arc<BrokerState>,
    /// Held for the broker's lifetime so a second broker cannot open the
    /// same data directory; released on drop (and by the kernel on a crash).
    _lock: Flock<File>,
}

impl BrokerHandle {
    /// The address the broker listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the Kafka listener, if it is on.
    pub fn kafka_addr(&self) -> Option<SocketAddr> {
        self.kafka_addr
    }

    /// Network counters of both listeners, including bytes sent per
    /// transfer mode.
    pub fn stats(&self) -> &Arc<NetworkStats> {
        &self.stats
    }

    /// The request memory budget of both listeners, with its high-water mark.
    pub fn request_budget(&self) -> &RequestBudget {
        &self.request_budget
    }

    /// The shared broker state (topics, partition logs, committed offsets),
    /// for diagnostics and tests.
    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// Stops accepting, finishes in-flight requests, then flushes and closes
    /// every log so the next start is clean.
    pub async fn shutdown(self) -> Result<(), BrokerError> {
        info!("broker shutting down");
        self.stop.send_replace(true);
        // Waiting joins are answered first, so connections can drain.
        if let Err(error) = self.group_timers.await {
            warn!(%error, "group timer task failed");
        }
        if let Err(error) = self.server.await {
            warn!(%error, "server task failed");
        }
        if let Some(kafka) = self.kafka_server
            && let Err(error) = kafka.await
        {
            warn!(%error, "Kafka server task failed");
        }
        if let Err(error) = self.background.await {
            warn!(%error, "background task failed");
        }
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || {
            state.topics.close_all();
            if let Err(error) = state.offsets.log().close() {
                warn!(error = %error_chain(&error), "closing the consumer offsets log failed");
            }
        })
        .await
        .map_err(|e| BrokerError::Task(e.to_string()))?;
        info!(stats = %self.stats, request_memory = %self.request_budget, "broker stopped");
        Ok(())
    }
}

fn lock_data_dir(dir: &std::path::Path) -> Result<Flock<File>, BrokerError> {
    let path = dir.join(".lock");
    let file = File::create(&path).map_err(|e| BrokerError::io(&path, e))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| BrokerError::Locked {
        path: dir.to_owned(),
        errno,
    })
}

/// Runs a broker until SIGINT or SIGTERM, then shuts it down cleanly. What
/// the `sluice-broker` binary does after parsing its arguments.
pub async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let broker = Broker::start(config).await?;
    // A machine-readable line for scripts and tests that start the binary
    // with port 0.
    println!("sluice-broker listening on {}", broker.local_addr());
    if let Some(addr) = broker.kafka_addr() {
        println!("sluice-broker kafka listening on {addr}");
    }
    tokio::select! {
        _ = interrupt.recv() => info!("SIGINT received"),
        _ = terminate.recv() => info!("SIGTERM received"),
    }
    broker.shutdown().await?;
    Ok(())
}
