// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* causeway's probe: process lifecycle (fork, exec, exit) and network
 * connections, from tracepoints only, streamed through one ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "causeway.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* One ring buffer per CPU, created and sized by the loader: a record never
 * waits for, or pulls cache lines from, another CPU's. User space merges
 * the rings back into time order. */
struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

/* Records that could not be reserved: user space reads and reports them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Sockets between two events, found again by cookie in open-addressed
 * tables: a socket's slot is the first of `cookie % SLOTS` and the few
 * after it (its window) that is free or its own; each slot holds the
 * cookie it is for (0: free, BUSY: being written). Finding one is an index
 * and a compare or a few, in adjacent memory, with no helper call and no
 * lock; the kernel's hash maps cost far more per socket here (a lock, a
 * free list, a helper call: about 2 % of the churn benchmark's time for
 * the two maps these replaced). A socket keeps its slot however many
 * others come and go after it, however long it waits (a connect retrying
 * its SYN for two minutes); only when its whole window is taken at once
 * does a newcomer take its first slot, and the socket that held it is
 * counted lost. Cookies are handed out in near sequence, so sockets
 * between events at the same time rarely share a window. */
#define SLOTS 16384
#define BUSY (~0ULL)

/* Connects in flight: the connecting process, seen at CLOSE->SYN_SENT
 * (process context), with the time of that change (the connect() call)
 * as its header's time, until the connect is reported when the socket is
 * established or fails (softirq). Both tables are mapped into user space,
 * which reads them every few seconds for connects still in flight
 * (src/bpf/inflight.rs: keep SLOTS, CONNECT_WINDOW and the header's
 * layout in step with it). The cookies are a table of their own,
 * 8 bytes a slot, and the processes a second table beside it, slot for
 * slot: the slot is found and claimed in the small one, which stays in
 * the cache, and the larger one is only written (the store need not wait
 * for a cold line) and read back soon after, while the line is still at
 * hand. (With both in one 80-byte slot, taking a slot was a cache miss on
 * every connect: about a fifth of this program's time in the churn
 * benchmark.) */
#define CONNECT_WINDOW 4

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SLOTS + CONNECT_WINDOW - 1);
	__type(key, __u32);
	__type(value, __u64);
} connecting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SLOTS + CONNECT_WINDOW - 1);
	__type(key, __u32);
	__type(value, struct cw_header);
} connector SEC(".maps");

/* What was reported of a UDP socket (UDP_SENT, UDP_BOUND): socket-local
 * storage, so it lives and dies with the socket. */
#define UDP_SENT 1
#define UDP_BOUND 2

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} udp_seen SEC(".maps");

/* sk_userlocks: the address or the port was given to bind(), not picked
 * by the kernel at a first send (include/net/sock.h). */
#define SOCK_BINDADDR_LOCK 4
#define SOCK_BINDPORT_LOCK 8

/* Accepted sockets no process has used yet: the cookie, from when the
 * kernel creates one (in softirq, from a listener) until its first use or
 * its end. A window is one or two cache lines. Mapped into user space,
 * which marks the connections already waiting in accept queues when the
 * probe starts, with the same compare-and-swap (src/bpf/unclaimed.rs:
 * keep SLOTS and ACCEPT_WINDOW in step with it). */
#define ACCEPT_WINDOW 8

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SLOTS + ACCEPT_WINDOW - 1);
	__type(key, __u32);
	__type(value, __u64);
} unclaimed SEC(".maps");

/* Make the record types visible in the generated skeleton. */
struct cw_fork _cw_fork = {};
struct cw_exec _cw_exec = {};
struct cw_exit _cw_exit = {};
struct cw_conn _cw_conn = {};
struct cw_close _cw_close = {};
struct cw_signal _cw_signal = {};

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		*n += 1;
}

/* Takes a slot of the window (`window` slots) of `cookie` in `map` (see
 * SLOTS) and sets it to `mark`: the first slot that is free or already
 * its own, else the first, whose socket is counted lost. NULL (and
 * `cookie` counted lost) if even that one is being written by another CPU
 * (BUSY): two writers never share a slot. `*at` is the slot's index. */
static __always_inline __u64 *claim_slot(void *map, __u32 window, __u64 cookie,
					 __u64 mark, __u32 *at)
{
	__u64 *c, v;
	__u32 i;

	for (i = 0; i < window; i++) {
		*at = cookie % SLOTS + i;
		c = bpf_map_lookup_elem(map, at);
		if (!c)
			return NULL;
		v = *c;
		if ((v == 0 || v == cookie) &&
		    __sync_val_compare_and_swap(c, v, mark) == v)
			return c;
	}
	count_lost();
	*at = cookie % SLOTS;
	c = bpf_map_lookup_elem(map, at);
	if (!c)
		return NULL;
	v = *c;
	if (v == BUSY || __sync_val_compare_and_swap(c, v, mark) != v)
		return NULL;
	return c;
}

/* The slot of the window of `cookie` that holds it, or NULL; `*at` is
 * its index. */
static __always_inline __u64 *find_slot(void *map, __u32 window, __u64 cookie,
					__u32 *at)
{
	__u64 *c;
	__u32 i;

	for (i = 0; i < window; i++) {
		*at = cookie % SLOTS + i;
		c = bpf_map_lookup_elem(map, at);
		if (c && *c == cookie)
			return c;
	}
	return NULL;
}

/* Frees the slot that holds `cookie`: true for the one caller that did. */
static __always_inline bool free_slot(__u64 *c, __u64 cookie)
{
	return __sync_val_compare_and_swap(c, cookie, 0) == cookie;
}

static __always_inline void *reserve(__u64 size)
{
	__u32 cpu = bpf_get_smp_processor_id();
	void *ring = bpf_map_lookup_elem(&rings, &cpu);
	void *rec = ring ? bpf_ringbuf_reserve(ring, size, 0) : NULL;

	if (!rec)
		count_lost();
	return rec;
}

/* Never wakes the consumer: it takes what accumulated on a short timer,
 * so under load records go in batches, and no record pays for a wakeup
 * (an inter-processor interrupt, costly in a VM). */
static __always_inline void submit(void *rec)
{
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
}

/* Who `task` is: the common header without kind and time. Kernel memory is
 * read with direct loads through BTF pointers (CO-RE relocated), not one
 * helper call per field. */
static __always_inline void fill_ident(struct cw_header *h,
				       struct task_struct *task)
{
	struct task_struct *rp = task->real_parent;
	const struct cred *cred = task->cred;

	h->tid = task->pid;
	h->pid = task->tgid;
	h->start = task->group_leader->start_boottime;
	h->ppid = rp->tgid;
	h->pstart = rp->group_leader->start_boottime;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	/* What bpf_get_current_cgroup_id() reads, without a helper call, and
	 * of `task` rather than of the current task: a child forked into
	 * another cgroup (CLONE_INTO_CGROUP) is already there. */
	h->cgroup = task->cgroups->dfl_cgrp->kn->id;
	/* Two 8-byte loads, not a string-copy helper: comm is always
	 * NUL-terminated within its 16 bytes; user space stops at the NUL. */
	__builtin_memcpy(h->comm, task->comm, sizeof(h->comm));
}

/* The common header for an event of `task`, happening now. */
static __always_inline void fill_header(struct cw_header *h, __u32 kind,
					struct task_struct *task)
{
	h->kind = kind;
	h->ktime = bpf_ktime_get_boot_ns();
	fill_ident(h, task);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct cw_fork *e;

	/* A new thread is not a new process. */
	if (child->pid != child->tgid)
		return 0;
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, CW_FORK, child);
	/* The causal parent is the process that forked, even with
	 * CLONE_PARENT, where the kernel's real_parent is its parent. */
	e->h.ppid = parent->tgid;
	e->h.pstart = parent->group_leader->start_boottime;
	submit(e);
	return 0;
}

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* How many names of a path, and mounts crossed, the probe walks. */
#define PATH_DEPTH 32

/* Where a walk up a path is (see file_path). */
struct walk {
	struct cw_exec *e;
	struct dentry *d;
	struct mount *m;
	struct dentry *root;
	__u32 off;
	__u32 flags;
};

/* One step up: from a mount's root to the point it is mounted on in its
 * parent mount, or from a name to its directory, the name written. 1 when
 * done. A bpf_loop() callback: verified once, not once per path through
 * the steps before it. */
static long walk_step(__u32 i, void *ctx)
{
	struct walk *w = ctx;
	/* Typed again (the walk's pointers lose their type on the stack, and
	 * the mount's in container_of's arithmetic): read with plain loads,
	 * each checked by the kernel, not a helper call apiece. */
	struct dentry *d = bpf_rdonly_cast(w->d, bpf_core_type_id_kernel(struct dentry));
	struct mount *m = bpf_rdonly_cast(w->m, bpf_core_type_id_kernel(struct mount));
	struct dentry *parent;
	struct mount *up;
	long n;

	if ((unsigned long)d == (unsigned long)w->root) {
		up = m->mnt_parent;
		if (!up || (unsigned long)up == (unsigned long)w->m)
			return 1;
		w->d = m->mnt_mountpoint;
		w->m = up;
		m = bpf_rdonly_cast(up, bpf_core_type_id_kernel(struct mount));
		w->root = m->mnt.mnt_root;
		return 0;
	}
	if (w->off >= CW_FILE_LEN) {
		w->flags |= CW_FILE_CUT;
		return 1;
	}
	/* At most CW_FILE_LEN - 1 + CW_NAME_LEN: within `file`. */
	n = bpf_probe_read_kernel_str(&w->e->file[w->off & (CW_FILE_LEN - 1)],
				      CW_NAME_LEN, d->d_name.name);
	if (n <= 0)
		return 1;
	w->off += n;
	parent = d->d_parent;
	if (!parent || (unsigned long)parent == (unsigned long)d)
		return 1;
	w->d = parent;
	/* The last step left names unwritten. */
	if (i == PATH_DEPTH - 1)
		w->flags |= CW_FILE_CUT;
	return 0;
}

/* The path of `f` into `e->file`, its own name first (see struct cw_exec),
 * as d_path() walks it: up the dentries to the mount's root, then on from
 * the point it is mounted on in its parent mount, until the mount
 * namespace's root. A file of an internal mount (a memfd: its dentry its
 * own parent) is named by its own name alone, as d_path() names it.
 * Marked unlinked when it has no links (i_nlink 0). */
static __always_inline void file_path(struct cw_exec *e, struct file *f)
{
	struct vfsmount *vm = f->f_path.mnt;
	struct walk w = {
		.e = e,
		.d = f->f_path.dentry,
		/* container_of(vm, struct mount, mnt), relocated. */
		.m = (void *)vm - bpf_core_field_offset(struct mount, mnt),
		.root = vm->mnt_root,
		.flags = f->f_inode->i_nlink ? 0 : CW_FILE_UNLINKED,
	};

	bpf_loop(PATH_DEPTH, walk_step, &w, 0);
	e->file_len = w.off;
	e->file_flags = w.flags;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct cw_exec *e;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end, len;
	long n;

	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, CW_EXEC, p);
	e->old_tid = old_pid;

	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      bprm->filename);
	e->filename_len = n > 0 ? n - 1 : 0;
	file_path(e, bprm->file);

	mm = p->mm;
	arg_start = mm->arg_start;
	arg_end = mm->arg_end;
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	e->args_truncated = 0;
	if (len > CW_ARGS_LEN) {
		len = CW_ARGS_LEN;
		e->args_truncated = 1;
	}
	e->args_len = 0;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
		e->args_len = len;
	submit(e);
	return 0;
}

#define PF_EXITING 0x00000004
/* How far up the ancestors a subreaper is looked for. */
#define REAPER_DEPTH 32

/* The process the kernel will hand `p`'s children to as `p` ends, chosen
 * as its find_new_reaper() does (right after this tracepoint): the
 * nearest ancestor in the same pid namespace that made itself a child
 * subreaper (PR_SET_CHILD_SUBREAPER) and is not exiting, else the
 * namespace's init. NULL when not found. */
static __always_inline struct task_struct *reaper_of(struct task_struct *p)
{
	struct pid *pid = p->thread_pid;
	unsigned int level = pid->level;
	unsigned long at;
	struct upid up = {};
	struct task_struct *init, *t;

	/* task_active_pid_ns(p): the namespace of its pid's deepest level. */
	at = (unsigned long)pid + bpf_core_field_offset(struct pid, numbers) +
	     (unsigned long)level * bpf_core_type_size(struct upid);
	if (bpf_probe_read_kernel(&up, sizeof(up), (void *)at) || !up.ns)
		return NULL;
	init = BPF_CORE_READ(up.ns, child_reaper);
	if (!BPF_CORE_READ_BITFIELD_PROBED(p->signal, has_child_subreaper))
		return init;
	t = p->real_parent;
	for (int i = 0; i < REAPER_DEPTH; i++) {
		if ((unsigned long)t == (unsigned long)init ||
		    t->thread_pid->level != level || t->pid == 0)
			break;
		if (BPF_CORE_READ_BITFIELD_PROBED(t->signal,
						  is_child_subreaper) &&
		    !(t->flags & PF_EXITING))
			return t;
		t = t->real_parent;
	}
	return init;
}

/* Whether `p`, the last of its threads to exit, leaves children: those of
 * the thread exiting and of its main thread, where a process's children
 * are (a thread's go to another of the process's threads when it exits
 * first). */
static __always_inline bool has_children(struct task_struct *p)
{
	return (unsigned long)p->children.next !=
		       (unsigned long)&p->children ||
	       (unsigned long)p->group_leader->children.next !=
		       (unsigned long)&p->group_leader->children;
}

static __always_inline void report_exit(struct task_struct *p)
{
	struct cw_exit *e = reserve(sizeof(*e));
	struct task_struct *reaper;

	if (!e)
		return;
	fill_header(&e->h, CW_EXIT, p);
	e->exit_code = p->exit_code;
	e->reaper_pid = 0;
	e->reaper_start = 0;
	if (has_children(p)) {
		reaper = reaper_of(p);
		if (reaper) {
			e->reaper_pid = BPF_CORE_READ(reaper, tgid);
			e->reaper_start =
				BPF_CORE_READ(reaper, group_leader, start_boottime);
		}
	}
	submit(e);
}

/* Kernels since 6.16 say whether this was the thread group's last thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p, bool group_dead)
{
	/* A thread's exit ends the process only when it is the last one. */
	if (group_dead)
		report_exit(p);
	return 0;
}

/* Older kernels: the same question, asked of the live-thread count, which
 * do_exit() decrements before this tracepoint. Two threads exiting at the
 * same instant can both see zero; the tree ignores a second exit. The
 * loader uses this program only when the one above does not load. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit_compat, struct task_struct *p)
{
	if (p->signal->live.counter == 0)
		report_exit(p);
	return 0;
}

/* ---- signals ----------------------------------------------------------
 *
 * Who ended a process, when something else did: a signal sent to it. Every
 * signal sent passes here (a SIGCHLD at every exit), so the program returns
 * at once for all but the few worth a record. */

#define SI_USER 0
#define SI_QUEUE (-1)
#define SI_TKILL (-6)

/* Signals whose default action ends a process, less the timers' (ALRM,
 * VTALRM, PROF), I/O's and power's, which programs handle as a matter of
 * course. */
#define ENDING_SIGNALS                                                        \
	((1U << 1) | (1U << 2) | (1U << 3) | (1U << 4) | (1U << 5) | (1U << 6) | \
	 (1U << 7) | (1U << 8) | (1U << 9) | (1U << 10) | (1U << 11) |         \
	 (1U << 12) | (1U << 13) | (1U << 15) | (1U << 24) | (1U << 25) |      \
	 (1U << 31))
/* Of those, what a process brings on itself (a fault, abort(), a write
 * to a closed pipe): the kernel sends them to the process that caused
 * them, and its exit status says so already. */
#define SELF_INFLICTED                                                        \
	((1U << 4) | (1U << 5) | (1U << 6) | (1U << 7) | (1U << 8) | (1U << 11) | \
	 (1U << 13) | (1U << 31))

/* Whether `task` takes `sig` (1 to 31) with its default action: no handler
 * installed and not ignored. The handler is read by address (the index is
 * not a constant), through a pointer read into a plain value. */
static __always_inline bool default_action(struct task_struct *task, int sig)
{
	struct sighand_struct *sh = BPF_CORE_READ(task, sighand);
	unsigned long at;
	void *handler = (void *)1;

	if (!sh)
		return false;
	at = (unsigned long)&sh->action[0].sa.sa_handler +
	     (unsigned long)(sig - 1) * bpf_core_type_size(struct k_sigaction);
	if (bpf_probe_read_kernel(&handler, sizeof(handler), (void *)at))
		return false;
	return handler == NULL; /* SIG_DFL */
}

/* result: TRACE_SIGNAL_DELIVERED 0, _IGNORED 1, _ALREADY_PENDING 2,
 * _OVERFLOW_FAIL 3, _LOSE_INFO 4. */
SEC("tp_btf/signal_generate")
int BPF_PROG(handle_signal, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int group, int result)
{
	struct task_struct *cur;
	struct cw_signal *e;
	bool by_process;
	int code;

	if (sig < 1 || sig > 31 || !(ENDING_SIGNALS & (1U << sig)))
		return 0;
	if (result != 0 && result != 4)
		return 0;
	cur = bpf_get_current_task_btf();
	/* SEND_SIG_NOINFO (0): from the current process, as kill() would,
	 * except that kill() and its kin always pass a siginfo: with no
	 * siginfo and the current process as its own target, this is the
	 * kernel answering the process's own call (a write to a pipe or
	 * socket no one reads: SIGPIPE; a file past RLIMIT_FSIZE: SIGXFSZ),
	 * as self-inflicted as a fault. SEND_SIG_PRIV (1): from the kernel. */
	if ((unsigned long)info == 0)
		code = cur->tgid == task->tgid ? 0x80 : SI_USER;
	else if ((unsigned long)info == 1)
		code = 0x80; /* SI_KERNEL */
	else
		/* The verifier takes the argument for a scalar, as it may be
		 * one of those two: read it through a cast. */
		code = bpf_core_cast(info, struct kernel_siginfo)->si_code;
	by_process = code == SI_USER || code == SI_QUEUE || code == SI_TKILL;
	if (by_process) {
		/* A process signalling itself (kill $$, raise(), a pkill that
		 * matches its own command line): only a signal it does not
		 * handle, which ends it; a handled one is routine. */
		if (cur->tgid == task->tgid && !default_action(task, sig))
			return 0;
	} else if (SELF_INFLICTED & (1U << sig)) {
		return 0;
	}
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, CW_SIGNAL, task);
	e->signal = sig;
	e->code = code;
	if (by_process) {
		e->sender_pid = cur->tgid;
		e->sender_uid = cur->cred->uid.val;
		e->sender_start = cur->group_leader->start_boottime;
		__builtin_memcpy(e->sender_comm, cur->comm, sizeof(e->sender_comm));
	} else {
		e->sender_pid = 0;
		e->sender_uid = 0;
		e->sender_start = 0;
		__builtin_memset(e->sender_comm, 0, sizeof(e->sender_comm));
	}
	submit(e);
	return 0;
}

/* The OOM killer chose `task` (and has just sent it SIGKILL), in the
 * context of the process whose allocation found no memory. Kernels since
 * 6.8 name the task here; the loader leaves this program out where the
 * tracepoint is older. */
SEC("tp_btf/mark_victim")
int BPF_PROG(handle_oom, struct task_struct *task)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct cw_signal *e = reserve(sizeof(*e));

	if (!e)
		return 0;
	fill_header(&e->h, CW_OOM, task);
	e->signal = 9;
	e->code = 0x80; /* SI_KERNEL */
	e->sender_pid = cur->tgid;
	e->sender_uid = cur->cred->uid.val;
	e->sender_start = cur->group_leader->start_boottime;
	__builtin_memcpy(e->sender_comm, cur->comm, sizeof(e->sender_comm));
	submit(e);
	return 0;
}

/* ---- network ----------------------------------------------------------
 *
 * Costs matter here: every TCP state change and every socket send runs a
 * program. Kernel memory is read with direct loads through BTF pointers
 * (the trusted arguments of tp_btf programs, bpf_get_current_task_btf(),
 * and bpf_core_cast() elsewhere), not with one probe-read helper call per
 * field. Needs Linux 6.3 or later (the sock_send_length tracepoint,
 * bpf_rdonly_cast). */

#define AF_INET 2
#define AF_INET6 10

/* Syscall numbers and the pt_regs field that holds the current one, for
 * finding the address of an unconnected UDP send. */
#if defined(__TARGET_ARCH_x86)
#define NR_SENDTO 44
#define NR_SENDMSG 46
#define NR_SENDMMSG 307
#define SYSCALL_NR(regs) ((long)(regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define NR_SENDTO 206
#define NR_SENDMSG 211
#define NR_SENDMMSG 269
#define SYSCALL_NR(regs) ((long)(regs)->syscallno)
#else
#define NR_SENDTO -2
#define NR_SENDMSG -2
#define NR_SENDMMSG -2
#define SYSCALL_NR(regs) (-1L)
#endif

/* Where the socket cookie lives: struct sock_common in newer kernels
 * (6.18 has it there), struct sock before. */
struct sock_common___cookie {
	atomic64_t skc_cookie;
} __attribute__((preserve_access_index));

struct sock___cookie {
	atomic64_t sk_cookie;
} __attribute__((preserve_access_index));

/* The cookie the kernel already gave a socket (0 if it has none yet), read
 * without giving it one as bpf_get_socket_cookie() would. */
static __always_inline __u64 read_cookie(struct sock *sk)
{
	if (bpf_core_field_exists(struct sock_common___cookie, skc_cookie))
		return ((struct sock_common___cookie *)sk)->skc_cookie.counter;
	if (bpf_core_field_exists(struct sock___cookie, sk_cookie))
		return ((struct sock___cookie *)sk)->sk_cookie.counter;
	return 0;
}

/* sk_protocol was a bitfield before Linux 5.6. */
static __always_inline __u16 sk_proto(struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD(sk, sk_protocol);
}

/* The identity of the current process; without kind and time. */
static __always_inline void fill_current_ident(struct cw_header *h)
{
	fill_ident(h, bpf_get_current_task_btf());
}

static __always_inline void fill_current(struct cw_header *h, __u32 kind)
{
	fill_header(h, kind, bpf_get_current_task_btf());
}

/* An IPv4 address as v4-mapped IPv6. */
static __always_inline void put_v4(__u8 *dst, __be32 addr)
{
	__u32 *w = (__u32 *)dst;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = addr;
}

static __always_inline void put_v6(__u8 *dst, const struct in6_addr *a)
{
	__u32 *w = (__u32 *)dst;

	w[0] = a->in6_u.u6_addr32[0];
	w[1] = a->in6_u.u6_addr32[1];
	w[2] = a->in6_u.u6_addr32[2];
	w[3] = a->in6_u.u6_addr32[3];
}

static __always_inline void sock_local(struct sock *sk, __u16 family,
				       struct cw_conn *e)
{
	/* A closing socket has given its port back (inet_num is 0 by the
	 * time ->CLOSE is traced); inet_sport still holds it. */
	e->sport = sk->__sk_common.skc_num;
	if (!e->sport)
		e->sport = bpf_ntohs(bpf_core_cast(sk, struct inet_sock)->inet_sport);
	if (family == AF_INET6)
		put_v6(e->saddr, &sk->__sk_common.skc_v6_rcv_saddr);
	else
		put_v4(e->saddr, sk->__sk_common.skc_rcv_saddr);
}

static __always_inline void sock_remote(struct sock *sk, __u16 family,
					struct cw_conn *e)
{
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (family == AF_INET6)
		put_v6(e->daddr, &sk->__sk_common.skc_v6_daddr);
	else
		put_v4(e->daddr, sk->__sk_common.skc_daddr);
}

/* Payload bytes of a TCP socket, each counted once. The kernel's
 * bytes_received counts a received FIN as one byte (tcp_fin() marks the
 * socket SOCK_DONE); bytes_acked would count SYN and FIN too, so sent
 * bytes are first transmissions: bytes_sent less bytes_retrans. */
static __always_inline void tcp_payload(struct sock *sk, struct cw_close *e)
{
	struct tcp_sock *tp = bpf_core_cast(sk, struct tcp_sock);
	unsigned long flags = sk->__sk_common.skc_flags;
	__u64 received = tp->bytes_received;
	__u64 sent = tp->bytes_sent, retrans = tp->bytes_retrans;

	e->bytes_sent = sent > retrans ? sent - retrans : 0;
	if (received &&
	    (flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
		received--;
	e->bytes_received = received;
}

/* Reserves a network record and fills everything but its header. */
static __always_inline struct cw_conn *conn_record(struct sock *sk, __u16 family,
						   __u64 cookie, __u8 protocol)
{
	struct cw_conn *e = reserve(sizeof(*e));

	if (!e)
		return NULL;
	e->cookie = cookie;
	e->family = family;
	e->protocol = protocol;
	e->_pad0 = 0;
	e->netns = sk->__sk_common.skc_net.net->ns.inum;
	e->_pad1 = 0;
	e->opened = 0;
	sock_local(sk, family, e);
	sock_remote(sk, family, e);
	return e;
}

/* Reports a close: a small record, attributed in user space (see struct
 * cw_close). Closes of sockets user space never saw opened are dropped
 * there. */
static __always_inline void emit_close(struct sock *sk, __u64 cookie, int from)
{
	/* Reserved before it is stamped, as every record: user space relies
	 * on it (a record stamped before its take's watermark was reserved
	 * before it, and so is in that take). */
	struct cw_close *e = reserve(sizeof(*e));

	if (!e)
		return;
	e->kind = CW_CLOSE;
	/* Set before the state change on every path that ends a connection
	 * with an error (tcp_done_with_error, tcp_v4_err); 0 on a clean
	 * close. An errno fits 16 bits. */
	e->error = (__u16)sk->sk_err;
	e->from = (__u8)from;
	e->_pad = 0;
	e->ktime = bpf_ktime_get_boot_ns();
	e->cookie = cookie;
	tcp_payload(sk, e);
	submit(e);
}

/* Reports the connect of `cookie`, stamped now, for the process seen at
 * its SYN_SENT and from the time seen then, and frees that slot; only the
 * caller that frees it reports it, so at most once. The process is copied
 * into the record before the slot is freed: a colliding connect that
 * rewrites it first marks it BUSY, and then this one is lost. A connect
 * with no slot began before the probe attached (or its slot was taken,
 * and counted lost): it is reported naming no process, and user space
 * gives it to the process the start-up listing found holding the socket
 * (the listing gave it the cookie it has), or drops it. */
static __always_inline void connected(struct sock *sk, __u16 family, __u64 cookie)
{
	struct cw_header *h;
	struct cw_conn *e;
	__u64 *c;
	__u32 at;

	c = find_slot(&connecting, CONNECT_WINDOW, cookie, &at);
	if (!c) {
		e = conn_record(sk, family, cookie, IPPROTO_TCP);
		if (!e)
			return;
		__builtin_memset(&e->h, 0, sizeof(e->h));
		e->h.kind = CW_CONNECT;
		e->h.ktime = bpf_ktime_get_boot_ns();
		submit(e);
		return;
	}
	h = bpf_map_lookup_elem(&connector, &at);
	if (!h)
		return;
	e = conn_record(sk, family, cookie, IPPROTO_TCP);
	if (!e)
		return;
	e->h = *h;
	if (!free_slot(c, cookie)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		count_lost();
		return;
	}
	/* The record is stamped when it is made, as every record (user space
	 * merges the rings by that stamp); when the connect began is a field
	 * of its own. */
	e->opened = e->h.ktime;
	e->h.kind = CW_CONNECT;
	e->h.ktime = bpf_ktime_get_boot_ns();
	submit(e);
}

/* ---- accepted sockets ---------------------------------------------------
 *
 * The kernel creates an accepted socket in softirq, where no process is at
 * hand, and accept() hands it over without a tracepoint of its own. (The
 * accept syscall's exit tracepoint would do, but any syscall tracepoint
 * puts every syscall of every process on the host on the slow path: +40 to
 * +75 ns each here.) So an accepted socket is marked when it is created,
 * and attributed to the first process that uses it: that receives or sends
 * on it, or changes its state while holding its lock (only a process
 * holds it: softirq and timers defer to the owner). That is the process
 * that accepted it, unless it handed the socket on before using it (a
 * fork-per-connection server: the child that serves it). The accept is
 * stamped with that first use. A socket that ends before any process used
 * it (reset by its peer, or dropped with its listener) is reported as it
 * ends, naming no process: user space gives it to the process listening
 * on its address. */

/* Takes `sk` out of the accepted sockets no process has used yet; true
 * if it was there, for one caller only, so the accept is reported exactly
 * once. On every send and receive: a load, an index and a compare. */
static __always_inline bool take_unclaimed(struct sock *sk)
{
	__u64 cookie = read_cookie(sk);
	__u64 *c;
	__u32 at;

	if (!cookie)
		return false;
	c = find_slot(&unclaimed, ACCEPT_WINDOW, cookie, &at);
	return c && free_slot(c, cookie);
}

/* Reports the accept of `sk`, by the current process if `by_current`,
 * else naming no process (see above). */
static __always_inline void report_accept(struct sock *sk, bool by_current)
{
	__u16 family = sk->__sk_common.skc_family;
	/* Given when the socket was created (LISTEN->SYN_RECV). */
	__u64 cookie = read_cookie(sk);
	struct cw_conn *e = conn_record(sk, family, cookie, IPPROTO_TCP);

	if (!e)
		return;
	if (by_current) {
		fill_current(&e->h, CW_ACCEPT);
	} else {
		__builtin_memset(&e->h, 0, sizeof(e->h));
		e->h.kind = CW_ACCEPT;
		e->h.ktime = bpf_ktime_get_boot_ns();
	}
	submit(e);
}

/* A process is using `sk` now: report the accept if it is the first. */
static __always_inline void on_use(struct sock *sk)
{
	if (take_unclaimed(sk))
		report_accept(sk, true);
}

/* TCP state changes. CLOSE->SYN_SENT runs in the connecting process
 * (tcp_v[46]_connect), before the source port is chosen: the process is
 * remembered, and the connect is reported with its full 4-tuple when the
 * socket is established (in softirq; SYN_RECV in a simultaneous open), or
 * when it fails. CLOSE->LISTEN runs in the listen() caller. LISTEN->SYN_RECV
 * is a new accepted socket, marked for its first use (above). Every ->CLOSE
 * of a socket opened since the probe started is reported, attributed in
 * user space, just after the accept of an accepted socket no process used
 * (above). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_sock_state, const struct sock *csk, const int oldstate,
	     const int newstate)
{
	struct sock *sk = (struct sock *)csk;
	struct cw_header *h;
	__u64 cookie, *c;
	struct cw_conn *e;
	__u16 family;
	__u32 at;

	/* A process changing an accepted socket's state (closing it or
	 * shutting it down, from ESTABLISHED, CLOSE_WAIT or, with Fast Open,
	 * SYN_RECV) holds its lock. */
	if ((oldstate == TCP_ESTABLISHED || oldstate == TCP_CLOSE_WAIT ||
	     oldstate == TCP_SYN_RECV) &&
	    sk->sk_lock.owned)
		on_use(sk);
	/* Only these changes need more than that. */
	switch (newstate) {
	case TCP_SYN_RECV:
		/* From LISTEN: a new accepted socket. From SYN_SENT: a
		 * simultaneous open. */
		if (oldstate != TCP_SYN_SENT && oldstate != TCP_LISTEN)
			return 0;
		break;
	case TCP_SYN_SENT:
	case TCP_LISTEN:
		if (oldstate != TCP_CLOSE)
			return 0;
		break;
	case TCP_ESTABLISHED:
		if (oldstate != TCP_SYN_SENT)
			return 0;
		break;
	case TCP_CLOSE:
		break;
	default:
		return 0;
	}
	if (sk_proto(sk) != IPPROTO_TCP)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	/* A socket is given its cookie when it opens (connects, listens, or
	 * is created for an accept); later changes only read it. A socket
	 * without one was opened before the probe, and nothing of it can be
	 * matched. */
	if (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN ||
	    (newstate == TCP_SYN_RECV && oldstate == TCP_LISTEN))
		cookie = bpf_get_socket_cookie(sk);
	else
		cookie = read_cookie(sk);
	if (!cookie)
		return 0;

	switch (newstate) {
	case TCP_SYN_SENT:
		/* The kind is set when the connect is reported; the time is
		 * the connect() call's, now. The slot is BUSY while the
		 * process is written, and gets its cookie last: with a plain
		 * store, for the program that looks for this cookie runs once
		 * the SYN this precedes is out, long after, and user space
		 * reads the cookie again after the process (inflight.rs). */
		c = claim_slot(&connecting, CONNECT_WINDOW, cookie, BUSY, &at);
		if (!c)
			return 0;
		h = bpf_map_lookup_elem(&connector, &at);
		if (h) {
			fill_current_ident(h);
			h->ktime = bpf_ktime_get_boot_ns();
		}
		*(volatile __u64 *)c = cookie;
		return 0;
	case TCP_LISTEN:
		e = conn_record(sk, family, cookie, IPPROTO_TCP);
		if (!e)
			return 0;
		fill_current(&e->h, CW_LISTEN);
		submit(e);
		return 0;
	case TCP_SYN_RECV:
		if (oldstate == TCP_LISTEN) {
			/* Nothing to write but the cookie itself. */
			claim_slot(&unclaimed, ACCEPT_WINDOW, cookie, cookie, &at);
			return 0;
		}
		connected(sk, family, cookie);
		return 0;
	case TCP_ESTABLISHED:
		connected(sk, family, cookie);
		return 0;
	case TCP_CLOSE:
		/* A connect that never got established (refused, timed out) is
		 * reported here, followed at once by its close. Closes of
		 * sockets user space never saw opened are dropped there. */
		if (oldstate == TCP_SYN_SENT)
			connected(sk, family, cookie);
		else if (take_unclaimed(sk))
			report_accept(sk, sk->sk_lock.owned);
		emit_close(sk, cookie, oldstate);
		return 0;
	}
	return 0;
}

/* Every socket receive (recv, recvfrom, recvmsg, read, io_uring, ...)
 * ends here, in the receiving process. A UDP socket that receives before
 * it ever sent is a server's (DNS, syslog, statsd): reported once, as a
 * CW_LISTEN of protocol UDP on its bound address. A client's socket sends
 * first (its first destination is reported) and is not reported again
 * for the replies. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(handle_recv, struct sock *sk, int ret, int flags)
{
	struct cw_conn *e;
	__u16 family;
	__u64 *seen;

	on_use(sk);
	if (ret < 0 || sk_proto(sk) != IPPROTO_UDP)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	/* A server binds its port (or address) and does not connect: a
	 * client's socket (bound by the kernel at its first send, or
	 * connected), opened before the probe or whose first send went
	 * unseen, is no server. */
	if (!(BPF_CORE_READ_BITFIELD(sk, sk_userlocks) &
	      (SOCK_BINDPORT_LOCK | SOCK_BINDADDR_LOCK)) ||
	    sk->__sk_common.skc_state == TCP_ESTABLISHED)
		return 0;
	seen = bpf_sk_storage_get(&udp_seen, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!seen || *seen)
		return 0;
	/* One report, should a send on another CPU set its bit meanwhile. */
	if (__sync_fetch_and_or(seen, UDP_BOUND))
		return 0;
	e = conn_record(sk, family, bpf_get_socket_cookie(sk), IPPROTO_UDP);
	if (!e)
		return 0;
	fill_current(&e->h, CW_LISTEN);
	submit(e);
	return 0;
}

/* Reads an AF_INET or AF_INET6 sockaddr from user memory into the record's
 * destination. The offsets are the user ABI: family at 0, port at 2, IPv4
 * address at 4, IPv6 address at 8. */
static __always_inline int read_sockaddr(const void *uaddr, struct cw_conn *e)
{
	__u16 fam = 0;
	__be16 port = 0;
	__be32 a4 = 0;

	if (!uaddr || bpf_probe_read_user(&fam, sizeof(fam), uaddr) ||
	    bpf_probe_read_user(&port, sizeof(port), uaddr + 2))
		return -1;
	e->dport = bpf_ntohs(port);
	if (fam == AF_INET) {
		if (bpf_probe_read_user(&a4, sizeof(a4), uaddr + 4))
			return -1;
		put_v4(e->daddr, a4);
		return 0;
	}
	if (fam == AF_INET6)
		return bpf_probe_read_user(e->daddr, sizeof(e->daddr), uaddr + 8) ? -1 : 0;
	return -1;
}

/* The destination of the send in progress on an unconnected socket: the
 * address argument of the sendto/sendmsg/sendmmsg the current thread is
 * in (for sendmmsg, of the first message; msg_name is the first field of
 * both msghdr and mmsghdr). */
static __always_inline int syscall_dest(struct cw_conn *e)
{
	struct pt_regs *regs =
		(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = SYSCALL_NR(regs);
	const void *uaddr = NULL, *msg;

	if (nr == NR_SENDTO) {
		uaddr = (const void *)PT_REGS_PARM5_CORE_SYSCALL(regs);
	} else if (nr == NR_SENDMSG || nr == NR_SENDMMSG) {
		msg = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
		if (!msg || bpf_probe_read_user(&uaddr, sizeof(uaddr), msg))
			return -1;
	}
	return read_sockaddr(uaddr, e);
}

/* Every socket send (sendto, sendmsg, sendmmsg, write, ...) ends here with
 * its socket, in the sending process: it may be an accepted socket's first
 * use (above). The first successful send of each UDP socket is reported,
 * with its destination, once the local port is bound. A connected socket's
 * destination is its peer (set by connect(), which needs no program). A
 * server's socket (reported as it first received) is not reported again
 * for its answers: they are not connections it made. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_send, struct sock *sk, int ret, int flags)
{
	struct cw_conn *e;
	__u16 family;
	__u64 *seen;

	on_use(sk);
	if (ret < 0 || sk_proto(sk) != IPPROTO_UDP)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	seen = bpf_sk_storage_get(&udp_seen, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!seen || (*seen & (UDP_SENT | UDP_BOUND)))
		return 0;
	/* The socket's peer: right for a connected socket; an unconnected
	 * one's is overwritten by the send's own destination below. */
	e = conn_record(sk, family, bpf_get_socket_cookie(sk), IPPROTO_UDP);
	if (!e)
		return 0;
	fill_current(&e->h, CW_UDP);
	if (sk->__sk_common.skc_state != TCP_ESTABLISHED && syscall_dest(e)) {
		/* Not from a send syscall (io_uring, the kernel): nothing to
		 * report yet; a later send may say where it goes. */
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return 0;
	}
	__sync_fetch_and_or(seen, UDP_SENT);
	submit(e);
	return 0;
}
