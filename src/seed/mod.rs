//! The processes that exist when causeway starts, read from /proc, so the
//! tree has the whole host and not only what is born after we attach.

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub mod sockets;

use crate::bpf::{ARGS_LEN, split_args};
use crate::event::{Comm, Defunct, ExitStatus, Groups, NS_PER_TICK, ProcKey, SeedProcess};

/// The cgroup v2 id of a process: the inode of its cgroup directory.
fn cgroup_id(proc_dir: &Path, cache: &mut HashMap<String, u64>) -> u64 {
    let Ok(text) = fs::read_to_string(proc_dir.join("cgroup")) else {
        return 0;
    };
    let Some(path) = text.lines().find_map(|l| l.strip_prefix("0::")) else {
        return 0;
    };
    if let Some(&id) = cache.get(path) {
        return id;
    }
    // Where the cgroup2 tree is mounted: not always /sys/fs/cgroup.
    let id = crate::cgroups::v2_root().map_or(0, |root| crate::cgroups::id_at(root, path));
    cache.insert(path.to_string(), id);
    id
}

/// The file a process runs (`/proc/PID/exe`), and whether it has no links
/// (deleted, or a memfd): the path without the ` (deleted)` the kernel
/// adds then. Told by the file's own link count, not by the name, which a
/// file may have been given. Empty for a kernel thread, or one that
/// exited.
fn executable(proc_dir: &Path) -> (Vec<u8>, bool) {
    let link = proc_dir.join("exe");
    let Ok(path) = fs::read_link(&link) else {
        return (Vec::new(), false);
    };
    let mut path = path.into_os_string().into_vec();
    // The magic link opens the file itself, deleted or not.
    let deleted = fs::metadata(&link).is_ok_and(|m| m.nlink() == 0);
    if deleted {
        if let Some(kept) = path.strip_suffix(b" (deleted)") {
            path.truncate(kept.len());
        }
    }
    (path, deleted)
}

/// Reads every process in `/proc` that started no later than `until`
/// (boot-time ns; later ones the probe saw being born). Processes that
/// vanish mid-scan are skipped.
pub fn scan(until: u64) -> Vec<SeedProcess> {
    scan_dir(Path::new("/proc"), until)
}

fn scan_dir(proc: &Path, until: u64) -> Vec<SeedProcess> {
    let Ok(all) = procfs::process::all_processes_with_root(proc) else {
        return Vec::new();
    };
    let until_tick = until / NS_PER_TICK;
    let mut stats = Vec::new();
    for p in all.flatten() {
        // A process that exited since the directory was listed is skipped.
        let Ok(st) = p.stat() else { continue };
        if st.starttime <= until_tick {
            stats.push((p, st));
        }
    }
    let starts: HashMap<i32, u64> = stats.iter().map(|(_, s)| (s.pid, s.starttime)).collect();
    let mut cgroups = HashMap::new();
    let mut out = Vec::with_capacity(stats.len());
    for (p, st) in stats {
        let dir = proc.join(st.pid.to_string());
        let (uid, gid) = p.status().map_or((0, 0), |s| (s.ruid, s.rgid));
        // Read raw: arguments need not be UTF-8.
        let mut cmdline = fs::read(dir.join("cmdline")).unwrap_or_default();
        let argv_truncated = cmdline.len() > ARGS_LEN;
        cmdline.truncate(ARGS_LEN);
        let argv = split_args(&cmdline);
        let (exe, exe_deleted) = executable(&dir);
        let ppid = u32::try_from(st.ppid).unwrap_or(0);
        let parent = (ppid != 0).then(|| {
            let start = starts.get(&st.ppid).copied().unwrap_or(0);
            ProcKey::new(ppid, start * NS_PER_TICK)
        });
        // A zombie's end came before the probe could see it: it is
        // written ended, with the status its parent has yet to collect
        // (the kernel's wait status, field 52 of stat).
        let defunct = (st.state == 'Z').then(|| Defunct {
            // It had ended by the time it was read.
            seen: crate::journal::boot_clock_ns().unwrap_or(until),
            status: ExitStatus::from_wait_status(
                st.exit_code
                    .and_then(|c| u32::try_from(c).ok())
                    .unwrap_or(0),
            ),
        });
        out.push(SeedProcess {
            proc: ProcKey::new(
                u32::try_from(st.pid).unwrap_or(0),
                st.starttime * NS_PER_TICK,
            ),
            parent,
            uid,
            gid,
            cgroup: cgroup_id(&dir, &mut cgroups),
            comm: Comm::from(st.comm.as_str()),
            exe,
            exe_deleted,
            argv,
            argv_truncated,
            defunct,
            groups: Groups {
                session: u32::try_from(st.session).unwrap_or(0),
                pgid: u32::try_from(st.pgrp).unwrap_or(0),
            },
        });
    }
    // Parents before children where pids have not wrapped.
    out.sort_by_key(|s| (s.proc.start, s.proc.pid));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn this_process_is_found_with_its_parent() {
        let me = std::process::id();
        let seeds = scan(u64::MAX);
        let mine = seeds
            .iter()
            .find(|s| s.proc.pid == me)
            .expect("self in /proc");
        let parent = mine.parent.expect("a parent");
        assert_eq!(parent.pid, std::os::unix::process::parent_id());
        assert!(!mine.argv.is_empty());
        // The parent's start is known (it is alive), so the key resolves.
        assert!(seeds.iter().any(|s| s.proc == parent));
    }

    #[test]
    fn a_long_command_line_is_kept_to_what_the_probe_keeps() {
        let long = "x".repeat(1000);
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 30", "long"])
            .args(std::iter::repeat_n(&long, 6))
            .spawn()
            .unwrap();
        let seeds = scan(u64::MAX);
        let _ = child.kill();
        let _ = child.wait();
        let it = seeds
            .iter()
            .find(|s| s.proc.pid == child.id())
            .expect("in /proc");
        assert!(it.argv_truncated);
        let kept: usize = it.argv.iter().map(|a| a.len() + 1).sum();
        assert!((ARGS_LEN - 1..=ARGS_LEN + 1).contains(&kept), "{kept}");
        assert_eq!(
            it.argv[..4],
            [
                b"/bin/sh".to_vec(),
                b"-c".to_vec(),
                b"sleep 30".to_vec(),
                b"long".to_vec()
            ]
        );
        // The last one kept is cut.
        assert!(it.argv.last().is_some_and(|a| a.len() < 1000));
        // Not for one that fits.
        let me = seeds
            .iter()
            .find(|s| s.proc.pid == std::process::id())
            .unwrap();
        assert!(!me.argv_truncated);
    }

    #[test]
    fn a_program_deleted_while_it_runs_is_listed_by_its_path_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x (deleted)"); // a name that says so is no proof
        let other = dir.path().join("kept");
        std::fs::copy("/bin/sleep", &path).unwrap();
        std::fs::copy("/bin/sleep", &other).unwrap();
        let mut gone = std::process::Command::new(&path).arg("30").spawn().unwrap();
        let mut kept = std::process::Command::new(&other)
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let seeds = scan(u64::MAX);
        let _ = (gone.kill(), kept.kill());
        let _ = (gone.wait(), kept.wait());
        let find = |pid: u32| seeds.iter().find(|s| s.proc.pid == pid).expect("listed");
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let g = find(gone.id());
        assert_eq!(g.exe, real.join("x (deleted)").as_os_str().as_bytes());
        assert!(g.exe_deleted);
        let k = find(kept.id());
        assert_eq!(k.exe, real.join("kept").as_os_str().as_bytes());
        assert!(!k.exe_deleted);
    }
}
