//! A test backend that knows what a crash would leave: it keeps a durable image of every file
//! and directory entry, updated only by syncs, and can materialise it (a power loss) or the
//! page cache as it was (a process crash) at a chosen operation.
//!
//! Underneath are real files in a real directory (`root`): reads, `sendfile`, mappings and the
//! log's own view of its files all behave as on the real backend. On top, the simulator models
//! durability as strictly as POSIX allows (like ext4 without `auto_da_alloc`'s courtesy):
//!
//! - File contents become durable only through a sync of that file: `sync_data` and `sync_all`
//!   make all of it durable (length included); a mapping's `flush` makes its range durable and
//!   the file's current length with it (Linux runs `msync` as a data sync of the range, which
//!   commits the size). Writes, stores through mappings, `set_len` and `allocate` change only
//!   the live file.
//! - Directory entries (creations, renames, removals) become durable only through a sync of
//!   their directory. A file synced under a name whose entry was never made durable is lost;
//!   a removed file whose removal was not made durable comes back, with its durable content.
//! - Directories themselves are taken as durable once created, and `remove_dir_all` as durable
//!   at once (the storage only uses it to delete a whole log).
//!
//! Operations are counted: every call that changes the live state or the durable image
//! (creating or opening for writing, writes, length changes, syncs, flushes, renames,
//! removals). Pure reads are not counted: a crash between two reads leaves what a crash at the
//! next counted operation leaves. With [`CrashBackend::crash_at`] set to `n`, the simulated
//! crash happens just before counted operation `n`: from it on nothing more becomes durable
//! (the program keeps running against the live files, as a machine does until the power goes),
//! and the live files are captured as a process crash at that moment would leave them.
//!
//! Real syncs are skipped: durability is simulated, and a crash suite that reruns a workload
//! hundreds of times must not wait for the disk.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::{Mmap, MmapRaw};

use super::{Backend, FileHandle, MapMut, RealBackend};

/// Index of a simulated inode in `CrashState::nodes`.
type Node = usize;

/// Contents of the files under the root, by path relative to it.
pub type Image = BTreeMap<PathBuf, Vec<u8>>;

#[derive(Debug, Default)]
struct CrashState {
    /// Durable contents, by node. A node lives on after its last name is removed: the durable
    /// directory may still name it.
    durable: Vec<Vec<u8>>,
    /// Names as the program sees them now.
    live: BTreeMap<PathBuf, Node>,
    /// Names a crash would leave.
    durable_names: BTreeMap<PathBuf, Node>,
    /// Counted operations so far.
    ops: u64,
    /// What each counted operation was, for failure messages.
    history: Vec<String>,
    crash_at: Option<u64>,
    /// The live files at the crash, once it happened.
    process_image: Option<Image>,
    /// Set by `capture_every_operation`: both images at each counted operation, in order.
    captures: Option<Vec<CrashImages>>,
    /// The durable image as last built, while no durable change happened since (so captures
    /// between two syncs share it).
    durable_cache: Option<Arc<Image>>,
}

/// What a crash just before one operation leaves: after a power loss, and after a process crash.
#[derive(Debug, Clone)]
pub struct CrashImages {
    /// The operation the crash comes before (`CrashBackend::history` names it).
    pub op: u64,
    /// Shared by consecutive operations with no durable change between them: compare with
    /// `Arc::ptr_eq` to skip checking the same image twice.
    pub power_loss: Arc<Image>,
    pub process_crash: Image,
}

impl CrashImages {
    /// Writes the power-loss image into `dest` (paths relative to the simulator's root).
    pub fn write_power_loss(&self, dest: &Path) -> io::Result<()> {
        write_tree(dest, &self.power_loss)
    }

    pub fn write_process_crash(&self, dest: &Path) -> io::Result<()> {
        write_tree(dest, &self.process_crash)
    }
}

/// See the module documentation. Clones share the simulated disk.
#[derive(Debug, Clone)]
pub struct CrashBackend {
    root: PathBuf,
    inner: RealBackend,
    state: Arc<Mutex<CrashState>>,
}

impl CrashBackend {
    /// A simulator over the directory `root`, whose present files (for instance an image a
    /// previous simulated crash left) are taken as durable.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let mut state = CrashState::default();
        for (path, content) in read_tree(&root)? {
            let node = state.durable.len();
            state.durable.push(content);
            state.live.insert(root.join(&path), node);
            state.durable_names.insert(root.join(&path), node);
        }
        Ok(CrashBackend {
            root,
            inner: RealBackend,
            state: Arc::new(Mutex::new(state)),
        })
    }

    /// The simulator as the trait object a log is opened with.
    pub fn shared(&self) -> Arc<dyn Backend> {
        Arc::new(self.clone())
    }

    /// Crashes just before counted operation `op` (0 is the first).
    pub fn crash_at(&self, op: u64) {
        self.lock().crash_at = Some(op);
    }

    /// From now on, captures at every counted operation what a crash there would leave, without
    /// crashing: one run of a workload then yields the images of a crash at each of its
    /// operations (a crash freezes durability, so what runs after it cannot change them).
    pub fn capture_every_operation(&self) {
        self.lock().captures.get_or_insert_with(Vec::new);
    }

    /// What a crash now, before any further operation, would leave.
    pub fn images_now(&self) -> io::Result<CrashImages> {
        let mut state = self.lock();
        Ok(CrashImages {
            op: state.ops,
            power_loss: state.durable_image(&self.root),
            process_crash: read_tree(&self.root)?,
        })
    }

    /// The captures so far (see `capture_every_operation`), taken out.
    pub fn take_captures(&self) -> Vec<CrashImages> {
        self.lock()
            .captures
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Counted operations so far.
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// What each counted operation was (`"sync_dir /tmp/x/log"`), in order.
    pub fn history(&self) -> Vec<String> {
        self.lock().history.clone()
    }

    /// Whether the simulated crash has happened: nothing the program did since is durable.
    pub fn crashed(&self) -> bool {
        self.lock().process_image.is_some()
    }

    /// Writes what a power loss leaves (at the crash, or now if there was none) into `dest`,
    /// at the same paths relative to it as the files had under the root.
    pub fn write_power_loss_image(&self, dest: &Path) -> io::Result<()> {
        let image = self.lock().durable_image(&self.root);
        write_tree(dest, &image)
    }

    /// Writes what a process crash left (the live files at the crash, or now if there was
    /// none) into `dest`.
    pub fn write_process_crash_image(&self, dest: &Path) -> io::Result<()> {
        let image = self.lock().process_image.clone();
        let image = match image {
            Some(image) => image,
            None => read_tree(&self.root)?,
        };
        write_tree(dest, &image)
    }

    fn lock(&self) -> MutexGuard<'_, CrashState> {
        lock(&self.state)
    }

    /// Counts one operation; returns the state if its durable effects still apply (no crash
    /// yet). At the crash point, captures the live files first.
    fn step(&self, what: &str, path: &Path) -> io::Result<Option<MutexGuard<'_, CrashState>>> {
        step(&self.state, &self.root, what, path)
    }

    fn wrap(&self, inner: Arc<dyn FileHandle>, node: Node, path: &Path) -> Arc<dyn FileHandle> {
        Arc::new(CrashFile {
            inner,
            node,
            path: path.to_owned(),
            root: self.root.clone(),
            state: self.state.clone(),
        })
    }
}

impl CrashState {
    fn durable_image(&mut self, root: &Path) -> Arc<Image> {
        if let Some(image) = &self.durable_cache {
            return image.clone();
        }
        let image: Image = self
            .durable_names
            .iter()
            .filter_map(|(path, node)| {
                let relative = path.strip_prefix(root).ok()?;
                let content = self.durable.get(*node)?;
                Some((relative.to_owned(), content.clone()))
            })
            .collect();
        let image = Arc::new(image);
        self.durable_cache = Some(image.clone());
        image
    }
}

fn lock(state: &Mutex<CrashState>) -> MutexGuard<'_, CrashState> {
    // Every update below completes before the guard drops; a panicking test thread leaves a
    // consistent state behind.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn step<'a>(
    state: &'a Mutex<CrashState>,
    root: &Path,
    what: &str,
    path: &Path,
) -> io::Result<Option<MutexGuard<'a, CrashState>>> {
    let mut guard = lock(state);
    let op = guard.ops;
    guard.ops += 1;
    let name = path.strip_prefix(root).unwrap_or(path);
    guard.history.push(format!("{what} {}", name.display()));
    if guard.process_image.is_none() && guard.crash_at == Some(op) {
        guard.process_image = Some(read_tree(root)?);
    }
    if guard.captures.is_some() {
        let power_loss = guard.durable_image(root);
        let process_crash = read_tree(root)?;
        if let Some(captures) = guard.captures.as_mut() {
            captures.push(CrashImages {
                op,
                power_loss,
                process_crash,
            });
        }
    }
    Ok(guard.process_image.is_none().then_some(guard))
}

impl Backend for CrashBackend {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let _ = self.step("create_dir_all", dir)?;
        self.inner.create_dir_all(dir)
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        let mut state = lock_always(self.step("open", path)?, &self.state);
        let handle = self.inner.open(path)?;
        let node = match state.live.get(path) {
            Some(&node) => node,
            None => {
                // A new inode: nothing of it is durable, not even its name.
                let node = state.durable.len();
                state.durable.push(Vec::new());
                state.live.insert(path.to_owned(), node);
                node
            }
        };
        drop(state);
        Ok(self.wrap(handle, node, path))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        let handle = self.inner.open_read(path)?;
        let node = self.lock().live.get(path).copied();
        let node = node.ok_or_else(|| {
            io::Error::other(format!("{} is not known to the simulator", path.display()))
        })?;
        Ok(self.wrap(handle, node, path))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        self.inner.list_dir(dir)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = lock_always(self.step("rename", from)?, &self.state);
        self.inner.rename(from, to)?;
        if let Some(node) = state.live.remove(from) {
            state.live.insert(to.to_owned(), node);
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = lock_always(self.step("remove_file", path)?, &self.state);
        self.inner.remove_file(path)?;
        state.live.remove(path);
        Ok(())
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        let durable = self.step("remove_dir_all", dir)?.is_some();
        self.inner.remove_dir_all(dir)?;
        let mut state = self.lock();
        state.live.retain(|path, _| !path.starts_with(dir));
        if durable {
            state.durable_cache = None;
            state.durable_names.retain(|path, _| !path.starts_with(dir));
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let Some(mut state) = self.step("sync_dir", dir)? else {
            return Ok(());
        };
        state.durable_cache = None;
        let in_dir = |path: &Path| path.parent() == Some(dir);
        state.durable_names.retain(|path, _| !in_dir(path));
        let live: Vec<(PathBuf, Node)> = state
            .live
            .iter()
            .filter(|(path, _)| in_dir(path))
            .map(|(path, node)| (path.clone(), *node))
            .collect();
        state.durable_names.extend(live);
        Ok(())
    }

    fn changed_ms(&self, path: &Path) -> io::Result<i64> {
        self.inner.changed_ms(path)
    }

    fn sync_file_system(&self, dir: &Path) -> io::Result<()> {
        let Some(mut state) = self.step("sync_file_system", dir)? else {
            return Ok(());
        };
        state.durable_cache = None;
        // `syncfs` covers the whole file system, and the simulated one is everything under the
        // root, not only `dir`.
        let root = self.root.clone();
        let under = |path: &Path| path.starts_with(&root);
        let live: Vec<(PathBuf, Node)> = state
            .live
            .iter()
            .filter(|(path, _)| under(path))
            .map(|(path, node)| (path.clone(), *node))
            .collect();
        for (path, node) in &live {
            let content = std::fs::read(path)?;
            if let Some(durable) = state.durable.get_mut(*node) {
                *durable = content;
            }
        }
        state.durable_names.retain(|path, _| !under(path));
        state.durable_names.extend(live);
        Ok(())
    }
}

/// The state, whether or not the operation still counts for durability: namespace changes
/// happen to the live files either way.
fn lock_always<'a>(
    stepped: Option<MutexGuard<'a, CrashState>>,
    state: &'a Mutex<CrashState>,
) -> MutexGuard<'a, CrashState> {
    stepped.unwrap_or_else(|| lock(state))
}

#[derive(Debug)]
struct CrashFile {
    inner: Arc<dyn FileHandle>,
    node: Node,
    /// The name the file was opened under (for the history only: renames do not follow).
    path: PathBuf,
    root: PathBuf,
    state: Arc<Mutex<CrashState>>,
}

impl CrashFile {
    fn step(&self, what: &str) -> io::Result<Option<MutexGuard<'_, CrashState>>> {
        step(&self.state, &self.root, what, &self.path)
    }

    /// Makes the whole live file durable, if the crash has not happened.
    fn sync(&self, what: &str) -> io::Result<()> {
        let Some(mut state) = self.step(what)? else {
            return Ok(());
        };
        let content = read_all(self.inner.file())?;
        state.durable_cache = None;
        if let Some(durable) = state.durable.get_mut(self.node) {
            *durable = content;
        }
        Ok(())
    }
}

impl FileHandle for CrashFile {
    fn file(&self) -> &Arc<File> {
        self.inner.file()
    }

    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }

    fn read_at(&self, buf: &mut [u8], position: u64) -> io::Result<usize> {
        self.inner.read_at(buf, position)
    }

    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()> {
        let _ = self.step("write")?;
        self.inner.write_all_at(buf, position)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let _ = self.step("set_len")?;
        self.inner.set_len(len)
    }

    fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = self.step("allocate")?;
        self.inner.allocate(offset, len)
    }

    fn allocate_ahead(&self, offset: u64, len: u64) -> io::Result<()> {
        // The prefault thread's, at times of its own: counting it would make the operation
        // count depend on thread timing. It changes neither content nor length.
        self.inner.allocate_ahead(offset, len)
    }

    fn next_data(&self, from: u64) -> io::Result<Option<u64>> {
        self.inner.next_data(from)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync("sync_data")
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync("sync_all")
    }

    fn map_mut(&self, len: u64) -> io::Result<Arc<dyn MapMut>> {
        Ok(Arc::new(CrashMap {
            inner: self.inner.map_mut(len)?,
            file: self.inner.clone(),
            node: self.node,
            path: self.path.clone(),
            root: self.root.clone(),
            state: self.state.clone(),
        }))
    }

    fn map_read(&self) -> io::Result<Mmap> {
        self.inner.map_read()
    }
}

#[derive(Debug)]
struct CrashMap {
    inner: Arc<dyn MapMut>,
    /// The mapped file, to read back what the stores put into its pages (the handle, not the
    /// `File`: see `FileHandle::file`).
    file: Arc<dyn FileHandle>,
    node: Node,
    path: PathBuf,
    root: PathBuf,
    state: Arc<Mutex<CrashState>>,
}

impl MapMut for CrashMap {
    fn raw(&self) -> &MmapRaw {
        self.inner.raw()
    }

    fn populate(&self, from: usize, len: usize) -> io::Result<()> {
        // Faults pages in without changing them; the prefault thread calls it at times of its
        // own, so it is not counted (see `allocate_ahead`).
        self.inner.populate(from, len)
    }

    fn flush(&self, from: usize, len: usize) -> io::Result<()> {
        let Some(mut state) = step(&self.state, &self.root, "flush", &self.path)? else {
            return Ok(());
        };
        let live_len = usize::try_from(self.file.size()?).map_err(io::Error::other)?;
        let end = from.saturating_add(len).min(live_len);
        let mut range = vec![0u8; end.saturating_sub(from)];
        self.file.read_exact_at(&mut range, from as u64)?;
        state.durable_cache = None;
        if let Some(durable) = state.durable.get_mut(self.node) {
            // The length is committed with the range; bytes never synced read as zeros.
            durable.resize(live_len, 0);
            if let Some(target) = durable.get_mut(from..end) {
                target.copy_from_slice(&range);
            }
        }
        Ok(())
    }
}

fn read_all(file: &File) -> io::Result<Vec<u8>> {
    let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
    let mut content = vec![0u8; len];
    file.read_exact_at(&mut content, 0)?;
    Ok(content)
}

/// Every regular file under `root`, by path relative to it.
fn read_tree(root: &Path) -> io::Result<Image> {
    let mut image = Image::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                dirs.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                image.insert(relative.to_owned(), std::fs::read(&path)?);
            }
        }
    }
    Ok(image)
}

fn write_tree(dest: &Path, image: &Image) -> io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for (relative, content) in image {
        let path = dest.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
    }
    Ok(())
}
