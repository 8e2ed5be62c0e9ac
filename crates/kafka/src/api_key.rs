//! Api keys Sluice implements and where each one's flexible versions begin.

/// The Kafka apis this crate has codecs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(i16)]
pub enum ApiKey {
    /// 0
    Produce = 0,
    /// 1
    Fetch = 1,
    /// 2
    ListOffsets = 2,
    /// 3
    Metadata = 3,
    /// 8
    OffsetCommit = 8,
    /// 9
    OffsetFetch = 9,
    /// 10
    FindCoordinator = 10,
    /// 11
    JoinGroup = 11,
    /// 12
    Heartbeat = 12,
    /// 13
    LeaveGroup = 13,
    /// 14
    SyncGroup = 14,
    /// 15
    DescribeGroups = 15,
    /// 16
    ListGroups = 16,
    /// 18
    ApiVersions = 18,
    /// 19
    CreateTopics = 19,
    /// 20
    DeleteTopics = 20,
    /// 22
    InitProducerId = 22,
}

impl ApiKey {
    /// Every key, in numeric order.
    pub const ALL: [ApiKey; 17] = [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::Metadata,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::FindCoordinator,
        ApiKey::JoinGroup,
        ApiKey::Heartbeat,
        ApiKey::LeaveGroup,
        ApiKey::SyncGroup,
        ApiKey::DescribeGroups,
        ApiKey::ListGroups,
        ApiKey::ApiVersions,
        ApiKey::CreateTopics,
        ApiKey::DeleteTopics,
        ApiKey::InitProducerId,
    ];

    /// The key for a wire value, if Sluice implements it.
    pub fn from_i16(key: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_i16() == key)
    }

    /// The wire value.
    pub fn as_i16(self) -> i16 {
        self as i16
    }

    /// First flexible version (Kafka's `flexibleVersions`), from the
    /// message definitions.
    pub fn first_flexible_version(self) -> i16 {
        match self {
            ApiKey::Produce => 9,
            ApiKey::Fetch => 12,
            ApiKey::ListOffsets => 6,
            ApiKey::Metadata => 9,
            ApiKey::OffsetCommit => 8,
            ApiKey::OffsetFetch => 6,
            ApiKey::FindCoordinator => 3,
            ApiKey::JoinGroup => 6,
            ApiKey::Heartbeat => 4,
            ApiKey::LeaveGroup => 4,
            ApiKey::SyncGroup => 4,
            ApiKey::DescribeGroups => 5,
            ApiKey::ListGroups => 3,
            ApiKey::ApiVersions => 3,
            ApiKey::CreateTopics => 5,
            ApiKey::DeleteTopics => 4,
            ApiKey::InitProducerId => 2,
        }
    }

    /// Whether `version` of this api uses compact encodings and tagged fields.
    pub fn is_flexible(self, version: i16) -> bool {
        version >= self.first_flexible_version()
    }

    /// Kafka's name for the api (for logs).
    pub fn name(self) -> &'static str {
        match self {
            ApiKey::Produce => "Produce",
            ApiKey::Fetch => "Fetch",
            ApiKey::ListOffsets => "ListOffsets",
            ApiKey::Metadata => "Metadata",
            ApiKey::OffsetCommit => "OffsetCommit",
            ApiKey::OffsetFetch => "OffsetFetch",
            ApiKey::FindCoordinator => "FindCoordinator",
            ApiKey::JoinGroup => "JoinGroup",
            ApiKey::Heartbeat => "Heartbeat",
            ApiKey::LeaveGroup => "LeaveGroup",
            ApiKey::SyncGroup => "SyncGroup",
            ApiKey::DescribeGroups => "DescribeGroups",
            ApiKey::ListGroups => "ListGroups",
            ApiKey::ApiVersions => "ApiVersions",
            ApiKey::CreateTopics => "CreateTopics",
            ApiKey::DeleteTopics => "DeleteTopics",
            ApiKey::InitProducerId => "InitProducerId",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_i16_inverts_as_i16() {
        for key in ApiKey::ALL {
            assert_eq!(ApiKey::from_i16(key.as_i16()), Some(key));
        }
        assert_eq!(ApiKey::from_i16(4), None);
        assert_eq!(ApiKey::from_i16(-1), None);
    }
}
