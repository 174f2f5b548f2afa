//! Which cgroup a process is in, by name: the probe and the /proc scan
//! give a process's cgroup (v2) as a number, the id of its directory in the
//! cgroup2 file system (its inode); this turns the number into that
//! directory's path (`/system.slice/nginx.service`,
//! `/system.slice/docker-3f2a….scope`, `/kubepods.slice/…`), which says
//! which service, container or pod the process belongs to.
//!
//! Names are looked up once per cgroup, and announced as a
//! [`Message::Cgroup`] just before the first message that uses the id, so
//! that a journal names every cgroup it mentions and a replay elsewhere
//! still shows the names. A cgroup is opened by its id directly (a kernfs
//! file handle, as systemd does), which costs the same however many
//! cgroups the host has; where that is refused, the tree is listed
//! instead (about 20–25 µs a cgroup here, so listings are spaced out).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::event::Message;

/// A cgroup the tree has not seen listed waits at least this long for the
/// next listing, and at least 100 times as long as the last listing took:
/// a host starting containers by the hundred does not list its cgroups for
/// each one, and listing takes at most about 1 % of the probe thread.
const RELIST_AFTER: Duration = Duration::from_millis(500);

/// At most this many cgroups are listed (a host has hundreds to a few
/// thousand).
const MAX_LISTED: usize = 200_000;

/// Where the cgroup2 file system is mounted: `/sys/fs/cgroup` on most
/// hosts, `/sys/fs/cgroup/unified` on hosts that mount v1 controllers
/// beside it. None without one.
pub fn v2_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let text = fs::read_to_string("/proc/self/mountinfo").ok()?;
        v2_root_in(&text)
    })
    .as_deref()
}

fn v2_root_in(mountinfo: &str) -> Option<PathBuf> {
    // `36 35 0:30 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw`:
    // the mount's root within the file system, its mount point, optional
    // fields, then the file system type after the dash.
    mountinfo.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        if fs.split(' ').next()? != "cgroup2" {
            return None;
        }
        let mut fields = mount.split(' ');
        let root = fields.nth(3)?;
        let point = fields.next()?;
        // Only the whole tree: a bind mount of a part names paths wrongly.
        (root == "/").then(|| PathBuf::from(unescape(point)))
    })
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |v, c| v.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The id of the cgroup at `path` (as `/proc/PID/cgroup` gives it, from the
/// tree's root) in the tree mounted at `root`; 0 when there is none.
pub fn id_at(root: &Path, path: &str) -> u64 {
    let rel = path.trim_start_matches('/');
    fs::metadata(root.join(rel)).map_or(0, |m| m.ino())
}

/// The short name of the cgroup at `path`, to mark where a service,
/// container or pod begins: its last part (`nginx.service`), with a
/// container id cut to the 12 characters `docker ps` shows
/// (`docker-3f2a9c8b1d2e.scope` for `docker-3f2a…(64 hex)….scope`). None
/// for the root.
pub fn unit(path: &str) -> Option<String> {
    const ID_MIN: usize = 32;
    const SHOWN: usize = 12;
    let last = path.rsplit('/').next().filter(|l| !l.is_empty())?;
    let mut out = String::with_capacity(last.len());
    let mut rest = last;
    while !rest.is_empty() {
        let run = rest
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        if run >= ID_MIN {
            out.push_str(&rest[..SHOWN]);
        } else {
            out.push_str(&rest[..run]);
        }
        rest = &rest[run..];
        // Up to the next hex digit as it is.
        let plain = rest
            .find(|c: char| c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
    }
    Some(out)
}

/// Cgroup ids to paths, listed from the cgroup2 tree when an id is new.
pub struct Cgroups {
    root: Option<PathBuf>,
    /// The root, open, for opening cgroups by handle.
    root_dir: Option<File>,
    paths: HashMap<u64, String>,
    announced: HashSet<u64>,
    /// Whether cgroups can be opened by id here (see [`Cgroups::by_handle`]).
    handles: bool,
    /// Ids not found by handle: gone, so not tried again.
    missed: HashSet<u64>,
    /// The id of the last message looked at: most messages in a row are
    /// of one cgroup.
    last: Option<u64>,
    /// When the tree was last listed, and how long that took.
    listed: Option<(Instant, Duration)>,
}

impl Cgroups {
    /// For this host's cgroup2 tree, if it has one.
    pub fn new() -> Cgroups {
        Cgroups::at(v2_root().map(Path::to_path_buf))
    }

    /// For the cgroup2 tree mounted at `root`.
    pub fn at(root: Option<PathBuf>) -> Cgroups {
        let mut cgroups = Cgroups {
            root_dir: root.as_deref().and_then(|r| File::open(r).ok()),
            root,
            paths: HashMap::new(),
            announced: HashSet::new(),
            handles: false,
            missed: HashSet::new(),
            last: None,
            listed: None,
        };
        // Opening the root by its id tells whether handles work here.
        let root_id = cgroups.root.as_deref().map_or(0, |r| id_at(r, "/"));
        cgroups.handles = cgroups.by_handle(root_id).is_some();
        cgroups
    }

    /// Pushes onto `out` a [`Message::Cgroup`] naming the cgroup of `msg`,
    /// if it has one that was not named yet and can be found.
    pub fn announce(&mut self, msg: &Message, out: &mut Vec<Message>) {
        let Some(id) = msg.cgroup() else { return };
        if self.last == Some(id) {
            return;
        }
        self.last = Some(id);
        if id == 0 || self.announced.contains(&id) {
            return;
        }
        if let Some(path) = self.path(id) {
            out.push(Message::Cgroup {
                id,
                path: path.to_string(),
            });
            self.announced.insert(id);
        }
    }

    /// The path of cgroup `id`: opened by its id where this kernel allows
    /// it (an id it does not find is gone, and kernfs never reuses ids);
    /// else from a listing of the tree, listed again if the last listing
    /// is old enough.
    fn path(&mut self, id: u64) -> Option<&str> {
        if self.handles {
            if !self.paths.contains_key(&id) && !self.missed.contains(&id) {
                match self.by_handle(id) {
                    Some(path) => {
                        self.paths.insert(id, path);
                    }
                    None => {
                        self.missed.insert(id);
                    }
                }
            }
            return self.paths.get(&id).map(String::as_str);
        }
        let due = self
            .listed
            .is_none_or(|(at, took)| at.elapsed() >= RELIST_AFTER.max(took * 100));
        if due && !self.paths.contains_key(&id) {
            let at = Instant::now();
            if let Some(root) = &self.root {
                self.paths = list(root);
            }
            self.listed = Some((at, at.elapsed()));
        }
        self.paths.get(&id).map(String::as_str)
    }

    /// The path of cgroup `id`, found by opening it by its id: a kernfs
    /// file handle is the id itself. None when this kernel or file system
    /// refuses (it needs `CAP_DAC_READ_SEARCH`) or the cgroup is gone.
    pub fn by_handle(&self, id: u64) -> Option<String> {
        // `struct file_handle` with 8 bytes of handle: the kernfs id.
        #[repr(C)]
        struct Handle {
            bytes: u32,
            kind: i32,
            id: u64,
        }
        const FILEID_KERNFS: i32 = 0xfe;
        let (root, dir) = (self.root.as_deref()?, self.root_dir.as_ref()?);
        let mut handle = Handle {
            bytes: 8,
            kind: FILEID_KERNFS,
            id,
        };
        // SAFETY: `Handle` is laid out as `struct file_handle` (an unsigned
        // int, an int) followed by the `bytes` (8) bytes of handle the
        // kernel reads; `dir` is an open directory for the call's length.
        let fd = unsafe {
            libc::open_by_handle_at(
                dir.as_raw_fd(),
                (&raw mut handle).cast(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: the kernel just returned `fd` open, and nothing else
        // owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let link = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let rel = link.strip_prefix(root).ok()?;
        Some(format!("/{}", rel.to_string_lossy()))
    }
}

impl Default for Cgroups {
    fn default() -> Self {
        Cgroups::new()
    }
}

/// Every directory under `root` (each a cgroup), by inode, as a path from
/// `root` (`/` for the root itself). A directory that goes while it is
/// listed is left out.
fn list(root: &Path) -> HashMap<u64, String> {
    let mut paths = HashMap::new();
    if let Ok(m) = fs::metadata(root) {
        paths.insert(m.ino(), "/".to_string());
    }
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, name)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if paths.len() >= MAX_LISTED {
                return paths;
            }
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = format!("{name}/{}", entry.file_name().to_string_lossy());
            paths.insert(entry.ino(), path.clone());
            stack.push((entry.path(), path));
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ProcKey, SeedProcess};

    fn seed(cgroup: u64) -> Message {
        Message::Seed(SeedProcess {
            proc: ProcKey::new(1, 1),
            parent: None,
            uid: 0,
            gid: 0,
            cgroup,
            comm: "x".into(),
            exe: vec![],
            exe_deleted: false,
            argv: vec![],
            argv_truncated: false,
            defunct: None,
            groups: Default::default(),
        })
    }

    #[test]
    fn a_unit_is_the_last_part_with_container_ids_cut() {
        let id = "3f2a9c8b1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a";
        assert_eq!(
            unit("/system.slice/nginx.service").as_deref(),
            Some("nginx.service")
        );
        assert_eq!(
            unit(&format!("/system.slice/docker-{id}.scope")).as_deref(),
            Some("docker-3f2a9c8b1d2e.scope")
        );
        assert_eq!(
            unit(&format!("/docker/{id}")).as_deref(),
            Some("3f2a9c8b1d2e")
        );
        assert_eq!(
            unit(&format!(
                "/kubepods.slice/kubepods-besteffort.slice/cri-containerd-{id}.scope"
            ))
            .as_deref(),
            Some("cri-containerd-3f2a9c8b1d2e.scope")
        );
        // Short hex runs (a session number, "beef") are left alone.
        assert_eq!(
            unit("/user.slice/session-4.scope").as_deref(),
            Some("session-4.scope")
        );
        assert_eq!(unit("/beef.service").as_deref(), Some("beef.service"));
        assert_eq!(unit("/"), None);
        assert_eq!(unit("").as_deref(), None);
    }

    #[test]
    fn the_cgroup2_mount_is_found_among_v1_ones() {
        let hybrid = "\
35 24 0:31 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
36 35 0:32 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw
37 35 0:33 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory
";
        assert_eq!(
            v2_root_in(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let plain = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 rw\n";
        assert_eq!(v2_root_in(plain), Some(PathBuf::from("/sys/fs/cgroup")));
        // A container's bind mount of its own part, then the whole tree
        // at a path with a space.
        let odd = "\
40 30 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw
41 30 0:26 / /mnt/cgroup\\040two rw - cgroup2 cgroup2 rw
";
        assert_eq!(v2_root_in(odd), Some(PathBuf::from("/mnt/cgroup two")));
        assert_eq!(
            v2_root_in("37 35 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw\n"),
            None
        );
    }

    #[test]
    fn each_cgroup_is_named_once_just_before_its_first_use() {
        let dir = std::env::temp_dir().join(format!("causeway-cgroups-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("system.slice/nginx.service")).unwrap();
        fs::create_dir_all(dir.join("user.slice")).unwrap();
        fs::write(dir.join("cgroup.procs"), "").unwrap();
        let ino = |p: &str| fs::metadata(dir.join(p)).unwrap().ino();
        let mut cgroups = Cgroups::at(Some(dir.clone()));
        assert!(!cgroups.handles, "a plain directory is listed");
        let nginx = id_at(&dir, "/system.slice/nginx.service");
        assert_eq!(nginx, ino("system.slice/nginx.service"));
        assert_eq!(id_at(&dir, "/nowhere"), 0);

        let mut out = vec![];
        for msg in [
            seed(nginx),
            seed(nginx),
            seed(ino("user.slice")),
            seed(nginx),
        ] {
            cgroups.announce(&msg, &mut out);
            out.push(msg);
        }
        let names: Vec<_> = out
            .iter()
            .filter_map(|m| match m {
                Message::Cgroup { id, path } => Some((*id, path.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            [
                (nginx, "/system.slice/nginx.service"),
                (ino("user.slice"), "/user.slice")
            ]
        );
        assert!(
            matches!(out[0], Message::Cgroup { .. }),
            "named before its first use"
        );
        assert_eq!(out.len(), 6);

        // The root is `/`; a file is no cgroup; an unknown id is not named
        // (and is looked for again later, not at once).
        let mut out = vec![];
        cgroups.announce(&seed(ino("")), &mut out);
        cgroups.announce(&seed(ino("cgroup.procs")), &mut out);
        cgroups.announce(&seed(0), &mut out);
        assert!(
            matches!(&out[..], [Message::Cgroup { path, .. }] if path == "/"),
            "{out:?}"
        );
        fs::create_dir(dir.join("late.scope")).unwrap();
        let late = seed(ino("late.scope"));
        cgroups.announce(&late, &mut out);
        assert_eq!(out.len(), 1, "not listed again at once");
        cgroups.listed = None;
        cgroups.announce(&seed(0), &mut out);
        cgroups.announce(&late, &mut out);
        assert!(matches!(&out[1], Message::Cgroup { path, .. } if path == "/late.scope"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
