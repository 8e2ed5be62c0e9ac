//! The `pwrite` writer: the baseline the mmap writer is measured against, and the fallback.

use std::io;
use std::sync::Arc;

use super::{RangeSync, SegmentWriter};
use crate::backend::FileHandle;

#[derive(Debug)]
pub struct FileWriter {
    file: Arc<dyn FileHandle>,
}

impl FileWriter {
    pub fn new(file: Arc<dyn FileHandle>) -> Self {
        FileWriter { file }
    }
}

impl SegmentWriter for FileWriter {
    fn write(&mut self, mut position: u64, parts: &[&[u8]]) -> io::Result<()> {
        for part in parts {
            self.file.write_all_at(part, position)?;
            position += part.len() as u64;
        }
        Ok(())
    }

    fn syncer(&self) -> Arc<dyn RangeSync> {
        Arc::new(FileSync(self.file.clone()))
    }

    fn seal(self: Box<Self>, len: u64) -> io::Result<()> {
        let file = self.file.clone();
        self.seal_unsynced(len)?;
        // Durable cut and data before a recovery point past this segment relies on them.
        file.sync_all()
    }

    fn seal_unsynced(self: Box<Self>, len: u64) -> io::Result<()> {
        if self.file.size()? != len {
            self.file.set_len(len)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct FileSync(Arc<dyn FileHandle>);

impl RangeSync for FileSync {
    fn sync(&self, _start: u64, _end: u64) -> io::Result<()> {
        self.0.sync_data()
    }
}
