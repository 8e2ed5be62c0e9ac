//! End-to-end latency at a fixed message rate: from the moment a message is
//! handed to the sluice-client `Producer` to the moment the sluice-client
//! `Consumer`'s `poll` returns it.
//!
//! Producer and consumer live in this process, so the send time travels in
//! the first 8 bytes of each value as nanoseconds since a shared
//! `Instant`. The producer is paced by a 1 ms tick: each tick sends the
//! messages due by then (so a late tick is caught up, not skipped, and the
//! offered rate holds).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use hdrhistogram::Histogram;
use sluice_benches::Samples;

use crate::Plan;
use crate::produce::PERCENTILES;
use crate::wire::Wire;
use sluice_benches::broker::BrokerProcess;

pub const VALUE_BYTES: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct E2eResults {
    pub rate: u64,
    pub secs: f64,
    /// Latency in ms for each of [`PERCENTILES`].
    pub latency_ms: [Samples; 5],
    pub achieved_rate: Samples,
    pub messages: Samples,
}

pub fn run(plan: &Plan, bin: &Path, work: &Path) -> Result<E2eResults> {
    let broker = BrokerProcess::start(bin, &work.join("e2e-data"), "sendfile")?;
    let mut admin = Wire::connect(broker.addr())?;
    let mut results = E2eResults {
        rate: plan.e2e_rate,
        secs: plan.e2e_time.as_secs_f64(),
        ..E2eResults::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for run in 0..plan.runs {
        eprintln!(
            "e2e: run {}/{} at {} msg/s for {:?}",
            run + 1,
            plan.runs,
            plan.e2e_rate,
            plan.e2e_time
        );
        let topic = format!("e2e-{run}");
        admin.create_topic(&topic, None)?;
        let (hist, received, rate) = runtime.block_on(one_run(
            broker.addr().to_owned(),
            topic.clone(),
            plan.e2e_rate,
            plan.e2e_time,
        ))?;
        admin.delete_topic(&topic)?;
        for (i, (p, _)) in PERCENTILES.iter().enumerate() {
            results.latency_ms[i].push(hist.value_at_quantile(p / 100.0) as f64 / 1e3);
        }
        results.achieved_rate.push(rate);
        results.messages.push(received as f64);
    }
    drop(admin);
    broker.stop()?;
    Ok(results)
}

async fn one_run(
    addr: String,
    topic: String,
    rate: u64,
    duration: Duration,
) -> Result<(Histogram<u64>, u64, f64)> {
    use sluice_client::{
        Acks, Client, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord, SeekTo,
        TopicPartition,
    };
    let total = rate * duration.as_secs_f64() as u64
        + (rate as f64 * duration.as_secs_f64().fract()) as u64;
    let base = Instant::now();
    let client = Client::connect(addr).await?;

    // The consumer polls from offset 0 of the fresh topic until it has
    // every message or the run is long over.
    let mut consumer = Consumer::new(
        client.clone(),
        ConsumerConfig {
            fetch_max_wait: Duration::from_millis(100),
            ..ConsumerConfig::default()
        },
    );
    let tp = TopicPartition::new(topic.clone(), 0);
    consumer.assign([tp.clone()]);
    consumer.seek(&tp, SeekTo::Offset(0))?;
    let give_up = base + duration + Duration::from_secs(15);
    let consumer_task = tokio::spawn(async move {
        let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
        let mut received = 0u64;
        while received < total && Instant::now() < give_up {
            for record in consumer.poll(Duration::from_millis(200)).await? {
                let now = base.elapsed().as_nanos();
                let value = record.value.context("a message without value")?;
                let sent: [u8; 8] = value
                    .get(..8)
                    .context("short value")?
                    .try_into()
                    .context("short value")?;
                let sent = u128::from(u64::from_be_bytes(sent));
                let us = u64::try_from(now.saturating_sub(sent) / 1000).unwrap_or(u64::MAX);
                hist.saturating_record(us.max(1));
                received += 1;
            }
        }
        anyhow::Ok((hist, received))
    });

    let producer = Producer::new(
        client,
        ProducerConfig {
            acks: Acks::Leader,
            linger: Duration::ZERO,
            ..ProducerConfig::default()
        },
    )?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(65_536);
    let deliveries = tokio::spawn(async move {
        while let Some(delivery) = rx.recv().await {
            let delivery: sluice_client::DeliveryFuture = delivery;
            delivery.await?;
        }
        anyhow::Ok(())
    });
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut value = vec![0x5au8; VALUE_BYTES];
    while sent < total {
        tick.tick().await;
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            let ns = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
            value[..8].copy_from_slice(&ns.to_be_bytes());
            let record =
                ProducerRecord::new(topic.clone(), Bytes::copy_from_slice(&value)).partition(0);
            tx.send(producer.send(record).await)
                .await
                .map_err(|_| anyhow::anyhow!("delivery task stopped"))?;
            sent += 1;
        }
    }
    let send_secs = start.elapsed().as_secs_f64();
    drop(tx);
    producer.flush().await?;
    deliveries.await??;
    producer.close().await;
    let (hist, received) = consumer_task.await??;
    ensure!(
        received == total,
        "consumer received {received} of {total} messages"
    );
    Ok((hist, received, sent as f64 / send_secs))
}
