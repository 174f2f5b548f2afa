// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* causeway's probe: process lifecycle (fork, exec, exit) and network
 * connections, from tracepoints only, streamed through one ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "causeway.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 * 1024 * 1024);
} events SEC(".maps");

/* Records that could not be reserved: user space reads and reports them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Make the record types visible in the generated skeleton. */
struct cw_fork _cw_fork = {};
struct cw_exec _cw_exec = {};
struct cw_exit _cw_exit = {};
struct cw_conn _cw_conn = {};

static __always_inline void *reserve(__u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			*n += 1;
	}
	return rec;
}

static __always_inline void fill_header(struct cw_header *h, __u32 kind,
					struct task_struct *task)
{
	struct task_struct *rp = BPF_CORE_READ(task, real_parent);

	h->kind = kind;
	h->ktime = bpf_ktime_get_boot_ns();
	h->tid = BPF_CORE_READ(task, pid);
	h->pid = BPF_CORE_READ(task, tgid);
	h->start = BPF_CORE_READ(task, group_leader, start_boottime);
	h->ppid = BPF_CORE_READ(rp, tgid);
	h->pstart = BPF_CORE_READ(rp, group_leader, start_boottime);
	h->uid = BPF_CORE_READ(task, cred, uid.val);
	h->gid = BPF_CORE_READ(task, cred, gid.val);
	h->cgroup = bpf_get_current_cgroup_id();
	bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), task->comm);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct cw_fork *e;

	/* A new thread is not a new process. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, CW_FORK, child);
	/* The causal parent is the process that forked, even with
	 * CLONE_PARENT, where the kernel's real_parent is its parent. */
	e->h.ppid = BPF_CORE_READ(parent, tgid);
	e->h.pstart = BPF_CORE_READ(parent, group_leader, start_boottime);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct cw_exec *e;
	unsigned long arg_start, arg_end, len;
	long n;

	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, CW_EXEC, p);
	e->old_tid = old_pid;

	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      BPF_CORE_READ(bprm, filename));
	e->filename_len = n > 0 ? n - 1 : 0;

	arg_start = BPF_CORE_READ(p, mm, arg_start);
	arg_end = BPF_CORE_READ(p, mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	e->args_truncated = 0;
	if (len > CW_ARGS_LEN) {
		len = CW_ARGS_LEN;
		e->args_truncated = 1;
	}
	e->args_len = 0;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
		e->args_len = len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p, bool group_dead)
{
	struct cw_exit *e;

	/* A thread's exit ends the process only when it is the last one. */
	if (!group_dead)
		return 0;
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, CW_EXIT, p);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
