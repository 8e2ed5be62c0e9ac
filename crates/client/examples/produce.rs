//! Produces a few keyed messages and prints where each landed.
//!
//! ```text
//! cargo run -p sluice-client --example produce -- [BROKER] [TOPIC] [COUNT]
//! ```
//!
//! BROKER defaults to 127.0.0.1:9393, TOPIC to `example`, COUNT to 10. The
//! topic is created with 3 partitions if it does not exist.

use sluice_client::{
    Client, ClientError, DEFAULT_BROKER, ErrorCode, Producer, ProducerConfig, ProducerRecord,
    TopicConfig,
};

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| DEFAULT_BROKER.to_owned());
    let topic = args.next().unwrap_or_else(|| "example".to_owned());
    let count: u32 = match args.next().map(|n| n.parse()) {
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(ClientError::Config("COUNT must be a number".into())),
        None => 10,
    };

    let client = Client::connect(&addr).await?;
    match client.create_topic(&topic, 3, TopicConfig::default()).await {
        Err(e) if e.code() == Some(ErrorCode::TopicAlreadyExists) => {}
        other => other?,
    }

    let producer = Producer::new(client, ProducerConfig::default())?;
    // Queue everything first so records share batches, then await.
    let mut deliveries = Vec::new();
    for i in 0..count {
        let key = format!("user-{}", i % 4);
        let record = ProducerRecord::new(&topic, format!("message {i}")).key(key.clone());
        deliveries.push((key, producer.send(record).await));
    }
    for (key, delivery) in deliveries {
        let meta = delivery.await?;
        let offset = meta.offset.map_or("-".to_owned(), |o| o.to_string());
        println!("{key} -> {topic}/{} @ {offset}", meta.partition);
    }
    producer.close().await;
    Ok(())
}
