//! Which segments retention deletes: a plain decision over segment facts, no I/O.

/// What retention needs to know of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentFacts {
    pub size: u64,
    pub max_timestamp: i64,
    pub active: bool,
}

/// How many of the oldest segments to delete. Segments are deleted oldest first and only as a
/// prefix (a log has no holes); the active segment is never deleted.
pub(crate) fn segments_to_delete(
    segments: &[SegmentFacts],
    retention_bytes: Option<u64>,
    retention_ms: Option<u64>,
    now_ms: i64,
) -> usize {
    let total: u64 = segments.iter().map(|s| s.size).sum();
    let mut excess = retention_bytes.map_or(0, |limit| total.saturating_sub(limit));
    let cutoff = retention_ms.map(|ms| now_ms.saturating_sub(ms as i64));
    let mut count = 0;
    for segment in segments {
        if segment.active {
            break;
        }
        let expired = cutoff.is_some_and(|cutoff| segment.max_timestamp < cutoff);
        let over_size = excess > 0 && segment.size <= excess;
        if !(expired || over_size) {
            break;
        }
        excess = excess.saturating_sub(segment.size);
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(size: u64, ts: i64) -> SegmentFacts {
        SegmentFacts {
            size,
            max_timestamp: ts,
            active: false,
        }
    }

    #[test]
    fn by_size_deletes_whole_oldest_segments_until_under_the_limit() {
        let mut segs = vec![seg(100, 0), seg(100, 0), seg(100, 0), seg(50, 0)];
        segs[3].active = true;
        // 350 bytes, limit 200: deleting one leaves 250; a second would go below the limit.
        assert_eq!(segments_to_delete(&segs, Some(200), None, 0), 1);
        assert_eq!(segments_to_delete(&segs, Some(150), None, 0), 2);
        assert_eq!(
            segments_to_delete(&segs, Some(260), None, 0),
            0,
            "a partial excess keeps the segment"
        );
        assert_eq!(
            segments_to_delete(&segs, Some(0), None, 0),
            3,
            "never the active one"
        );
    }

    #[test]
    fn by_age_deletes_a_prefix_of_expired_segments() {
        let mut segs = vec![seg(1, 10), seg(1, 500), seg(1, 20), seg(1, 10)];
        segs[3].active = true;
        assert_eq!(
            segments_to_delete(&segs, None, Some(100), 200),
            1,
            "stops at the first young segment"
        );
        assert_eq!(segments_to_delete(&segs, None, Some(100), 10_000), 3);
        assert_eq!(segments_to_delete(&segs, None, None, 10_000), 0);
    }
}
