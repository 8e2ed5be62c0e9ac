//! `sluice-broker`: parse the configuration, install the log subscriber,
//! run the broker until SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use sluice_broker::{BrokerConfig, Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config = match BrokerConfig::resolve(Cli::parse()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("sluice-broker: {error:#}");
            return ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sluice-broker: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(sluice_broker::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "broker failed");
            ExitCode::FAILURE
        }
    }
}
