//! A topic's settings: one table of their names (Kafka's topic config
//! names), meaning, defaults and validation, shared by the native
//! CreateTopic, the Kafka CreateTopics and `topic.json`.

use serde::{Deserialize, Serialize};
use sluice_storage::LogConfig;

use super::ServiceError;

/// A topic's settings, resolved: every value set. What `topic.json` stores
/// and Metadata reports. Negative retention means unlimited; a zero flush
/// setting means that policy is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSettings {
    pub partitions: u32,
    pub segment_bytes: u64,
    pub segment_ms: u64,
    pub retention_bytes: i64,
    pub retention_ms: i64,
    pub flush_messages: u64,
    pub flush_interval_ms: u64,
    pub max_message_bytes: u32,
}

impl Default for TopicSettings {
    fn default() -> Self {
        TopicSettings {
            partitions: 1,
            segment_bytes: 128 << 20,
            segment_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            retention_ms: 7 * 24 * 3600 * 1000,
            flush_messages: 0,
            flush_interval_ms: 1000,
            max_message_bytes: 8 << 20,
        }
    }
}

/// The settings a creation asks for; unset ones take the broker defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicOverrides {
    pub segment_bytes: Option<u64>,
    pub segment_ms: Option<u64>,
    pub retention_bytes: Option<i64>,
    pub retention_ms: Option<i64>,
    pub flush_messages: Option<u64>,
    pub flush_interval_ms: Option<u64>,
    pub max_message_bytes: Option<u32>,
}

/// One topic config: its Kafka name, what it means, and how a value is
/// parsed into the overrides and shown from the settings.
pub struct Setting {
    pub name: &'static str,
    pub doc: &'static str,
    set: fn(&mut TopicOverrides, &str) -> Result<(), String>,
    show: fn(&TopicSettings) -> Option<String>,
}

impl std::fmt::Debug for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setting").field("name", &self.name).finish()
    }
}

fn parse<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not a valid number here"))
}

/// Every topic config Sluice accepts, under Kafka's names.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "segment.bytes",
        doc: "Roll a new segment when the active one reaches this size.",
        set: |o, v| {
            o.segment_bytes = Some(parse(v)?);
            Ok(())
        },
        show: |s| Some(s.segment_bytes.to_string()),
    },
    Setting {
        name: "segment.ms",
        doc: "Roll a new segment when the active one is this old.",
        set: |o, v| {
            o.segment_ms = Some(parse(v)?);
            Ok(())
        },
        show: |s| Some(s.segment_ms.to_string()),
    },
    Setting {
        name: "retention.bytes",
        doc: "Delete the oldest segments while the partition is larger than this; -1: no limit.",
        set: |o, v| {
            o.retention_bytes = Some(parse(v)?);
            Ok(())
        },
        show: |s| Some(s.retention_bytes.to_string()),
    },
    Setting {
        name: "retention.ms",
        doc: "Delete segments whose newest record is older than this; -1: keep forever.",
        set: |o, v| {
            o.retention_ms = Some(parse(v)?);
            Ok(())
        },
        show: |s| Some(s.retention_ms.to_string()),
    },
    Setting {
        name: "flush.messages",
        doc: "Sync after this many appended messages; 0: off.",
        set: |o, v| {
            o.flush_messages = Some(parse(v)?);
            Ok(())
        },
        show: |s| Some(s.flush_messages.to_string()),
    },
    Setting {
        name: "flush.ms",
        doc: "Sync at least this often (milliseconds); 0: off.",
        set: |o, v| {
            o.flush_interval_ms = Some(parse(v)?);
            Ok(())
        },
        show: |s| Some(s.flush_interval_ms.to_string()),
    },
    Setting {
        name: "max.message.bytes",
        doc: "Largest record batch a produce may append.",
        set: |o, v| {
            o.max_message_bytes = Some(parse(v)?);
            Ok(())
        },
        show: |s| Some(s.max_message_bytes.to_string()),
    },
    Setting {
        name: "compression.type",
        doc: "Only `producer`: batches are stored as the producer compressed them.",
        set: |_, v| match v {
            "producer" => Ok(()),
            _ => Err(format!("{v:?} is not supported; only \"producer\"")),
        },
        show: |_| Some("producer".to_owned()),
    },
];

impl TopicOverrides {
    /// Sets the config `name` to `value` (Kafka's names, see [`SETTINGS`]);
    /// an unknown name or a bad value is `InvalidConfig` naming the key.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ServiceError> {
        let setting = SETTINGS.iter().find(|s| s.name == name).ok_or_else(|| {
            ServiceError::InvalidConfig(format!("topic config {name}={value} is not supported"))
        })?;
        (setting.set)(self, value)
            .map_err(|why| ServiceError::InvalidConfig(format!("{name}={value}: {why}")))
    }
}

impl TopicSettings {
    /// These settings with the fields set in `overrides` replaced.
    pub fn with_overrides(&self, partitions: u32, overrides: &TopicOverrides) -> TopicSettings {
        let o = overrides;
        TopicSettings {
            partitions,
            segment_bytes: o.segment_bytes.unwrap_or(self.segment_bytes),
            segment_ms: o.segment_ms.unwrap_or(self.segment_ms),
            retention_bytes: o.retention_bytes.unwrap_or(self.retention_bytes),
            retention_ms: o.retention_ms.unwrap_or(self.retention_ms),
            flush_messages: o.flush_messages.unwrap_or(self.flush_messages),
            flush_interval_ms: o.flush_interval_ms.unwrap_or(self.flush_interval_ms),
            max_message_bytes: o.max_message_bytes.unwrap_or(self.max_message_bytes),
        }
    }

    /// Every config by its Kafka name, with its value here.
    pub fn configs(&self) -> Vec<(&'static str, String)> {
        SETTINGS
            .iter()
            .filter_map(|s| (s.show)(self).map(|value| (s.name, value)))
            .collect()
    }

    /// The storage configuration, validated (`InvalidConfig` otherwise).
    pub fn log_config(&self) -> Result<LogConfig, ServiceError> {
        let invalid = |why: &str| Err(ServiceError::InvalidConfig(why.to_owned()));
        let unlimited = |v: i64| u64::try_from(v).ok();
        if self.retention_bytes < -1 || self.retention_ms < -1 {
            return invalid("retention values must be -1 (unlimited) or non-negative");
        }
        if self.segment_ms == 0 {
            return invalid("segment.ms must be positive");
        }
        let config = LogConfig {
            segment_bytes: self.segment_bytes,
            segment_ms: self.segment_ms,
            retention_bytes: unlimited(self.retention_bytes),
            retention_ms: unlimited(self.retention_ms),
            flush_messages: (self.flush_messages > 0).then_some(self.flush_messages),
            flush_interval_ms: (self.flush_interval_ms > 0).then_some(self.flush_interval_ms),
            max_message_bytes: u64::from(self.max_message_bytes),
            ..LogConfig::default()
        };
        config
            .validate()
            .map_err(|e| ServiceError::InvalidConfig(crate::errors::error_chain(&e)))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ErrorKind;

    #[test]
    fn settings_map_onto_log_config() {
        let settings = TopicSettings {
            retention_bytes: -1,
            retention_ms: 1000,
            flush_messages: 0,
            segment_bytes: 1 << 20,
            max_message_bytes: 1 << 16,
            ..TopicSettings::default()
        };
        let config = settings.log_config().unwrap();
        assert_eq!(config.retention_bytes, None);
        assert_eq!(config.retention_ms, Some(1000));
        assert_eq!(config.flush_messages, None);
        let bad = TopicSettings {
            segment_bytes: 10,
            ..TopicSettings::default()
        };
        assert_eq!(
            bad.log_config().unwrap_err().kind(),
            ErrorKind::InvalidConfig
        );
    }

    #[test]
    fn every_setting_round_trips_through_its_name() {
        let settings = TopicSettings {
            partitions: 3,
            segment_bytes: 1 << 20,
            segment_ms: 60_000,
            retention_bytes: 5 << 20,
            retention_ms: -1,
            flush_messages: 10,
            flush_interval_ms: 0,
            max_message_bytes: 1 << 16,
        };
        let mut overrides = TopicOverrides::default();
        for (name, value) in settings.configs() {
            overrides.set(name, &value).unwrap();
        }
        let defaults = TopicSettings::default();
        assert_eq!(defaults.with_overrides(3, &overrides), settings);
    }

    #[test]
    fn unknown_names_and_bad_values_name_the_key() {
        let mut overrides = TopicOverrides::default();
        for (name, value) in [
            ("cleanup.policy", "compact"),
            ("retention.ms", "soon"),
            ("max.message.bytes", "-1"),
            ("compression.type", "zstd"),
        ] {
            let error = overrides.set(name, value).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidConfig);
            assert!(error.message().contains(name), "{error}");
        }
        assert_eq!(overrides, TopicOverrides::default());
    }

    #[test]
    fn the_operators_guide_lists_every_setting() {
        let guide = include_str!("../../../../docs/broker.md");
        for setting in SETTINGS {
            let row = format!("| `{}` | {} |", setting.name, setting.doc);
            assert!(guide.contains(&row), "docs/broker.md lacks the row {row}");
        }
    }
}
