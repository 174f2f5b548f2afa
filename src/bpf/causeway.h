/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The contract between the BPF probe and user space: every record that
 * crosses the ring buffer is defined here and nowhere else. */
#ifndef CAUSEWAY_H
#define CAUSEWAY_H

#define CW_COMM_LEN 16
#define CW_FILENAME_LEN 256
#define CW_ARGS_LEN 4096
/* Room for the executed file's path, and for one name more past it: a
 * name is copied whole or not at all (see struct cw_exec). */
#define CW_FILE_LEN 256
#define CW_NAME_LEN 256

enum cw_kind {
	CW_FORK = 1,
	CW_EXEC = 2,
	CW_EXIT = 3,
	CW_CONNECT = 4,
	CW_ACCEPT = 5,
	CW_LISTEN = 6,
	CW_CLOSE = 7,
	CW_UDP = 8,
	CW_SIGNAL = 9,
	CW_OOM = 10,
};

/* Common to every record. `pid`/`start` name the process (thread group id
 * and the group leader's start time, boot-time ns); `ppid`/`pstart` name
 * its parent: for CW_FORK the process that forked it, otherwise the
 * current real parent. */
struct cw_header {
	__u32 kind;
	__u32 tid;
	__u64 ktime;
	__u32 pid;
	__u32 ppid;
	__u64 start;
	__u64 pstart;
	__u32 uid;
	__u32 gid;
	__u64 cgroup;
	__u8 comm[CW_COMM_LEN];
};

struct cw_fork {
	struct cw_header h;
};

/* Flags of the executed file (cw_exec.file_flags). */
#define CW_FILE_UNLINKED 1 /* no links (i_nlink 0): deleted, or a memfd */
#define CW_FILE_CUT 2 /* more names above those given: deeper or longer */

struct cw_exec {
	struct cw_header h;
	__u32 old_tid;
	/* Bytes of `args` that are valid; args holds NUL-separated argv. */
	__u32 args_len;
	__u32 args_truncated;
	__u32 filename_len;
	/* The path as given to exec (relative, a symlink, /dev/fd/3). */
	__u8 filename[CW_FILENAME_LEN];
	/* The file the kernel executed (for a #! script, its interpreter):
	 * the names of its path from its mount namespace's root, the file's
	 * own name first, each NUL-terminated; `file_len` bytes. None when
	 * the file's name is its file system's root's. */
	__u32 file_len;
	__u32 file_flags;
	__u8 file[CW_FILE_LEN + CW_NAME_LEN];
	/* Last: user space sizes its argument limit by it. */
	__u8 args[CW_ARGS_LEN];
};

struct cw_exit {
	struct cw_header h;
	/* The kernel's wait status: (code << 8) | signal, 0x80 if core dumped. */
	__u32 exit_code;
	/* When it leaves children running: the process the kernel hands them
	 * to (its nearest child-subreaper ancestor, else its pid namespace's
	 * init), by pid and start. 0 when it had no children. */
	__u32 reaper_pid;
	__u64 reaper_start;
};

/* A network record that opens a socket's story (CW_CONNECT, CW_ACCEPT,
 * CW_LISTEN, CW_UDP). The header names the process that connected,
 * accepted, listened or sent, also when the record is made later in
 * softirq context (an established connect); a CW_ACCEPT of a socket that
 * ended before any process used it names none (all zero but kind and
 * time), and so does a CW_CONNECT of a connect that began before the
 * probe attached (user space gives it the process the start-up listing
 * found holding the socket). Addresses are 16 bytes, IPv4
 * as v4-mapped IPv6 (network order); ports are host order. `cookie` is the
 * kernel's socket cookie; 0 for an accepted socket established before the
 * probe attached. Loopback addresses are per network namespace: two
 * sockets with the same addresses in two namespaces are not each other's
 * other end. */
struct cw_conn {
	struct cw_header h;
	__u64 cookie;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 protocol;
	__u8 _pad0;
	/* The socket's network namespace: its inode number, as
	 * /proc/PID/ns/net shows it. */
	__u32 netns;
	__u32 _pad1;
	/* CW_CONNECT: when connect() was called (boot-time ns; the header's
	 * time is when the record was made: established, or failed); 0 when
	 * not known (it began before the probe attached). 0 for the others. */
	__u64 opened;
};

/* A TCP socket closed (CW_CLOSE). It names no process and no addresses:
 * most closes happen in softirq, where the current task is whoever was
 * interrupted, so user space gives it the process and addresses of the
 * connect, accept or listen with the same cookie. Bytes are payload, each
 * counted once (no SYN, FIN or retransmission). `error` is the socket's
 * error when it closed (an errno: ECONNREFUSED, ETIMEDOUT, ECONNRESET...;
 * 0 for none) and `from` the TCP state it closed from (the kernel's
 * numbering: SYN_SENT for a connect that failed). */
struct cw_close {
	__u32 kind;
	__u16 error;
	__u8 from;
	__u8 _pad;
	__u64 ktime;
	__u64 cookie;
	__u64 bytes_sent;
	__u64 bytes_received;
};

/* A signal that can end a process, sent to it by another process or by
 * the kernel (CW_SIGNAL); or the OOM killer's choice of the process as its
 * victim (CW_OOM, right after its SIGKILL), where the sender is the
 * process whose allocation found no memory. The header names the process it was sent to;
 * `sender_pid` and `sender_start` the process that sent it (kill(),
 * tgkill(), sigqueue()), both 0 when the kernel sent it (the terminal's
 * Ctrl-C or hangup, the OOM killer, a CPU or file-size limit). `code` is
 * the siginfo's si_code (0 SI_USER, -6 SI_TKILL, 0x80 SI_KERNEL...). */
struct cw_signal {
	struct cw_header h;
	__u32 signal;
	__s32 code;
	__u32 sender_pid;
	__u32 sender_uid;
	__u64 sender_start;
	__u8 sender_comm[CW_COMM_LEN];
};

#endif /* CAUSEWAY_H */
