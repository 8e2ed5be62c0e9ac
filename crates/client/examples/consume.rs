//! Reads a topic from the beginning as group `example` and prints each
//! record; stops after two seconds without new records, committing its
//! position, so a second run prints only what was produced since.
//!
//! ```text
//! cargo run -p sluice-client --example consume -- [BROKER] [TOPIC]
//! ```
//!
//! BROKER defaults to 127.0.0.1:9393, TOPIC to `example`.

use std::time::Duration;

use sluice_client::{Client, ClientError, Consumer, ConsumerConfig, DEFAULT_BROKER, OffsetReset};

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| DEFAULT_BROKER.to_owned());
    let topic = args.next().unwrap_or_else(|| "example".to_owned());

    let client = Client::connect(&addr).await?;
    let config = ConsumerConfig {
        group_id: Some("example".into()),
        auto_offset_reset: OffsetReset::Earliest,
        ..ConsumerConfig::default()
    };
    let mut consumer = Consumer::new(client, config);
    consumer.subscribe(&[&topic]).await?;

    loop {
        let records = consumer.poll(Duration::from_secs(2)).await?;
        if records.is_empty() {
            break;
        }
        for r in &records {
            let key = r.key.as_deref().map(String::from_utf8_lossy);
            let value = r.value.as_deref().map(String::from_utf8_lossy);
            println!(
                "{}/{} @ {} ts={} key={key:?} value={value:?}",
                r.topic, r.partition, r.offset, r.timestamp
            );
        }
        consumer.commit().await?;
    }
    consumer.close().await
}
