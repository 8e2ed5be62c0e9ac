//! The process's file descriptor budget.
//!
//! Every partition holds descriptors (its active segment, its indexes), and every connection
//! one more. The soft limit is often far below the hard one (1024 against 1 048 576 in many
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let limit = super::raise().unwrap();
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((limit, soft), (hard, hard));
    }
}
