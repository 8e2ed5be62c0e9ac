//! The process's file descriptor budget.
//!
//! Every partition holds a descriptor for its active segment (indexes hold none, and sealed
//! segments share the storage's file cache of `--max-open-files`), and every connection one
//! more. The soft limit is often far below the hard one (1024 against 1 048 576 in many
//! containers), and running out shows up as failed accepts and topic creations, so the broker
//! raises the soft limit to the hard one at start and logs what it got.

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use tracing::{info, warn};

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limit now in force.
pub fn raise() -> Option<u64> {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            warn!(%error, "cannot read the file descriptor limit");
            return None;
        }
    };
    if soft >= hard {
        info!(fd_limit = soft, "file descriptor budget");
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => {
            info!(
                fd_limit = hard,
                raised_from = soft,
                "file descriptor budget"
            );
            Some(hard)
        }
        Err(error) => {
            warn!(%error, fd_limit = soft, hard_limit = hard, "cannot raise the file descriptor limit");
            Some(soft)
        }
    }
}

/// How many sealed segment files the file cache may keep open: what was configured, but at
/// most half of the descriptor limit (when it is known), so the cache alone cannot exhaust the
/// descriptors that active segments and connections need.
pub fn open_files_cap(configured: usize, fd_limit: Option<u64>) -> usize {
    let half = fd_limit.map_or(usize::MAX, |limit| {
        usize::try_from(limit / 2).unwrap_or(usize::MAX)
    });
    configured.min(half).max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cache_gets_at_most_half_the_descriptors() {
        assert_eq!(super::open_files_cap(4096, None), 4096);
        assert_eq!(super::open_files_cap(4096, Some(1 << 20)), 4096);
        assert_eq!(super::open_files_cap(4096, Some(1024)), 512);
        assert_eq!(super::open_files_cap(10, Some(1)), 1);
    }

    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let limit = super::raise().unwrap();
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((limit, soft), (hard, hard));
    }
}
