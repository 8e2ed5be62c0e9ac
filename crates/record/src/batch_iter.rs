//! Walking concatenated batches: a segment file or a fetch response.

use std::fmt;
use std::iter::FusedIterator;

use crate::batch::RecordBatch;
use crate::error::RecordError;
use crate::header::batch_total_size;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Consumed the whole buffer.
    End,
    /// Stopped before a batch the buffer holds only part of.
    PartialTail,
    /// Yielded an error; nothing more is trusted.
    Failed,
}

/// Iterates concatenated batches, validating each one fully (CRC included).
///
/// Yields `None` at the end of the buffer and also at a partial trailing
/// batch (fewer bytes than its length prefix or its declared total size):
/// Kafka fetch responses may end mid-batch, and a crash may leave one at the
/// end of a segment. [`BatchIter::has_partial_tail`] tells the two apart and
/// [`BatchIter::position`] says where the valid prefix ends, which is where
/// recovery truncates. After yielding an `Err` it yields `None` forever.
///
/// A zero-filled tail of 12 bytes or more yields
/// [`RecordError::BatchLengthTooSmall`], not a partial tail.
#[derive(Clone)]
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
    state: State,
}

impl<'a> BatchIter<'a> {
    /// Starts at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        BatchIter {
            buf,
            pos: 0,
            state: State::Running,
        }
    }

    /// Bytes consumed by whole valid batches so far: the start of the next
    /// batch, of the partial tail, or of the batch that failed.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True once iteration stopped at a partial trailing batch.
    pub fn has_partial_tail(&self) -> bool {
        self.state == State::PartialTail
    }

    /// The bytes from [`position`](Self::position) on.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<RecordBatch<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state != State::Running {
            return None;
        }
        let rest = self.remaining();
        if rest.is_empty() {
            self.state = State::End;
            return None;
        }
        let total = match batch_total_size(rest) {
            Ok(total) => total,
            Err(RecordError::Truncated { .. }) => {
                self.state = State::PartialTail;
                return None;
            }
            Err(e) => {
                self.state = State::Failed;
                return Some(Err(e));
            }
        };
        let Some(bytes) = rest.get(..total) else {
            self.state = State::PartialTail;
            return None;
        };
        match RecordBatch::parse(bytes) {
            Ok(batch) => {
                self.pos += total;
                Some(Ok(batch))
            }
            Err(e) => {
                self.state = State::Failed;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for BatchIter<'_> {}

/// Shows progress, not the buffer.
impl fmt::Debug for BatchIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchIter")
            .field("len", &self.buf.len())
            .field("position", &self.pos)
            .field("state", &self.state)
            .finish()
    }
}
