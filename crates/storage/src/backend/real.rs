//! The file system itself: std for files and directories, nix for `fallocate` and `SEEK_DATA`,
//! memmap2 for mappings. This is what every log uses outside tests.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use memmap2::{Advice, Mmap, MmapOptions, MmapRaw};
use nix::fcntl::FallocateFlags;

use super::{Backend, FileHandle, MapMut};

#[derive(Debug, Clone, Copy, Default)]
pub struct RealBackend;

impl RealBackend {
    /// The real backend as the trait object the log holds.
    pub fn shared() -> Arc<dyn Backend> {
        Arc::new(RealBackend)
    }
}

impl Backend for RealBackend {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(Arc::new(RealFile::new(file)))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        Ok(Arc::new(RealFile::new(File::open(path)?)))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect()
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::remove_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn sync_file_system(&self, dir: &Path) -> io::Result<()> {
        nix::unistd::syncfs(File::open(dir)?).map_err(io::Error::from)
    }

    fn changed_ms(&self, path: &Path) -> io::Result<i64> {
        let meta = fs::metadata(path)?;
        Ok(meta.ctime() * 1000 + meta.ctime_nsec() / 1_000_000)
    }
}

/// An open file of the real backend.
#[derive(Debug)]
pub struct RealFile {
    file: Arc<File>,
}

impl RealFile {
    pub fn new(file: File) -> Self {
        RealFile {
            file: Arc::new(file),
        }
    }
}

fn to_i64(value: u64) -> io::Result<i64> {
    i64::try_from(value).map_err(io::Error::other)
}

impl FileHandle for RealFile {
    fn file(&self) -> &Arc<File> {
        &self.file
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_at(&self, buf: &mut [u8], position: u64) -> io::Result<usize> {
        self.file.read_at(buf, position)
    }

    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()> {
        self.file.write_all_at(buf, position)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        nix::fcntl::posix_fallocate(&*self.file, to_i64(offset)?, to_i64(len)?)
            .map_err(io::Error::from)
    }

    fn allocate_ahead(&self, offset: u64, len: u64) -> io::Result<()> {
        let flags = FallocateFlags::FALLOC_FL_KEEP_SIZE;
        nix::fcntl::fallocate(&*self.file, flags, to_i64(offset)?, to_i64(len)?)
            .map_err(io::Error::from)
    }

    fn next_data(&self, from: u64) -> io::Result<Option<u64>> {
        use nix::unistd::{Whence, lseek};
        match lseek(&*self.file, to_i64(from)?, Whence::SeekData) {
            Ok(data) => Ok(Some(data as u64)),
            Err(nix::errno::Errno::ENXIO) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn map_mut(&self, len: u64) -> io::Result<Arc<dyn MapMut>> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        let raw = MmapOptions::new().len(len).map_raw(&*self.file)?;
        Ok(Arc::new(RealMap(raw)))
    }

    fn map_read(&self) -> io::Result<Mmap> {
        // SAFETY: the storage owns its partition directory: no other process writes or
        // truncates its files, and the storage maps read only what it no longer writes (sealed
        // indexes; a rebuild replaces the mapping before writing the file again).
        unsafe { Mmap::map(&*self.file) }
    }
}

/// A shared mapping of a real file.
#[derive(Debug)]
pub struct RealMap(MmapRaw);

impl MapMut for RealMap {
    fn raw(&self) -> &MmapRaw {
        &self.0
    }

    fn populate(&self, from: usize, len: usize) -> io::Result<()> {
        self.0.advise_range(Advice::PopulateWrite, from, len)
    }

    fn flush(&self, from: usize, len: usize) -> io::Result<()> {
        self.0.flush_range(from, len)
    }
}
