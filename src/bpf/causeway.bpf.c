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

/* A socket's owner: the process that connected, accepted or listened,
 * kept until the socket closes so records made in softirq context (an
 * established connect, a close) name the right process. Keyed by socket
 * cookie. */
struct cw_owner {
	struct cw_header h;
	/* The opening record (connect, accept or listen) has been sent. */
	__u32 opened;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct cw_owner);
} owners SEC(".maps");

/* UDP sockets whose first destination was reported, by socket inode
 * number (unique while the socket lives, and not reused soon after). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} udp_seen SEC(".maps");

/* A UDP connect or send in progress, by thread id: the destination is read
 * on entry, and reported on a successful exit, when the local port is
 * bound. */
struct udp_pending {
	__u64 sk;
	__u64 ino;
	__u8 daddr[16];
	__u16 dport;
	/* No address given: the destination is the connected socket's peer. */
	__u16 from_sock;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct udp_pending);
} udp_pending SEC(".maps");

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

/* Wake the consumer only once this much is waiting: it polls on a short
 * timer anyway, so under load records are taken in batches instead of one
 * wakeup each. */
#define WAKEUP_BYTES (256 * 1024)

static __always_inline void submit(void *rec)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, avail >= WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
						     : BPF_RB_NO_WAKEUP);
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
	submit(e);
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
	submit(e);
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
	submit(e);
	return 0;
}

/* ---- network ---------------------------------------------------------- */

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Where the socket cookie lives: struct sock_common since Linux 6.16,
 * struct sock before. */
struct sock_common___cookie {
	atomic64_t skc_cookie;
} __attribute__((preserve_access_index));

struct sock___cookie {
	atomic64_t sk_cookie;
} __attribute__((preserve_access_index));

/* The cookie the kernel already gave a socket (0 if it has none yet). For
 * programs that cannot call bpf_get_socket_cookie(). */
static __always_inline __u64 read_cookie(struct sock *sk)
{
	if (bpf_core_field_exists(struct sock_common___cookie, skc_cookie))
		return BPF_CORE_READ((struct sock_common___cookie *)sk,
				     skc_cookie.counter);
	if (bpf_core_field_exists(struct sock___cookie, sk_cookie))
		return BPF_CORE_READ((struct sock___cookie *)sk, sk_cookie.counter);
	return 0;
}

/* sk_protocol was a bitfield before Linux 5.6. */
static __always_inline __u16 sk_proto(struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
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

static __always_inline void sock_local(struct sock *sk, __u16 family,
				       struct cw_conn *e)
{
	/* A closing socket has given its port back (inet_num is 0 by the
	 * time ->CLOSE is traced); inet_sport still holds it. */
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!e->sport)
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (family == AF_INET6 &&
	    bpf_core_field_exists(sk->__sk_common.skc_v6_rcv_saddr))
		bpf_core_read(e->saddr, sizeof(e->saddr),
			      &sk->__sk_common.skc_v6_rcv_saddr);
	else
		put_v4(e->saddr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
}

static __always_inline void sock_remote(struct sock *sk, __u16 family,
					struct cw_conn *e)
{
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET6 &&
	    bpf_core_field_exists(sk->__sk_common.skc_v6_daddr))
		bpf_core_read(e->daddr, sizeof(e->daddr),
			      &sk->__sk_common.skc_v6_daddr);
	else
		put_v4(e->daddr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
}

/* Payload bytes of a TCP socket, each counted once. The kernel's
 * bytes_received counts a received FIN as one byte (tcp_fin() marks the
 * socket SOCK_DONE); bytes_acked would count SYN and FIN too, so sent
 * bytes are first transmissions: bytes_sent less bytes_retrans. */
static __always_inline void tcp_payload(struct sock *sk, struct cw_conn *e)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	__u64 received = BPF_CORE_READ(tp, bytes_received);
	__u64 sent, retrans;

	if (bpf_core_field_exists(tp->bytes_sent) &&
	    bpf_core_field_exists(tp->bytes_retrans)) {
		sent = BPF_CORE_READ(tp, bytes_sent);
		retrans = BPF_CORE_READ(tp, bytes_retrans);
		e->bytes_sent = sent > retrans ? sent - retrans : 0;
	} else {
		e->bytes_sent = BPF_CORE_READ(tp, bytes_acked);
	}
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
	e->opened_by = 0;
	e->bytes_sent = 0;
	e->bytes_received = 0;
	sock_local(sk, family, e);
	sock_remote(sk, family, e);
	return e;
}

/* Sends a TCP record on behalf of `h` (a stored owner), stamped now. */
static __always_inline void emit_owned(struct sock *sk, __u16 family,
				       __u64 cookie, __u32 kind,
				       const struct cw_header *h)
{
	struct cw_conn *e = conn_record(sk, family, cookie, IPPROTO_TCP);

	if (!e)
		return;
	e->h = *h;
	e->h.kind = kind;
	e->h.ktime = bpf_ktime_get_boot_ns();
	if (kind == CW_CLOSE) {
		e->opened_by = h->kind;
		tcp_payload(sk, e);
	}
	submit(e);
}

/* Remembers the current process as the socket's owner. */
static __always_inline void remember(__u64 cookie, const struct cw_header *h,
				     __u32 opened)
{
	struct cw_owner o = {};

	o.h = *h;
	o.opened = opened;
	bpf_map_update_elem(&owners, &cookie, &o, BPF_ANY);
}

/* Takes the owner out of the map and reports the close; only the caller
 * whose delete succeeds reports it, so a close is sent at most once. */
static __always_inline void close_owned(struct sock *sk, __u16 family,
					__u64 cookie, struct cw_owner *o)
{
	struct cw_owner copy = *o;

	if (bpf_map_delete_elem(&owners, &cookie) != 0)
		return;
	/* A connect that never got established (refused, timed out): its
	 * connect is reported here, followed at once by its close. */
	if (!copy.opened)
		emit_owned(sk, family, cookie, CW_CONNECT, &copy.h);
	emit_owned(sk, family, cookie, CW_CLOSE, &copy.h);
}

/* TCP state changes. CLOSE->SYN_SENT runs in the connecting process
 * (tcp_v[46]_connect), before the source port is chosen: the owner is
 * remembered, and the connect is sent with its full 4-tuple when the
 * socket is established (in softirq). CLOSE->LISTEN runs in the listen()
 * caller. ->CLOSE ends any socket with a known owner. Accepted sockets
 * are attributed at accept's exit (below). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_sock_state, const struct sock *csk, const int oldstate,
	     const int newstate)
{
	struct sock *sk = (struct sock *)csk;
	struct cw_owner *o;
	struct cw_header h;
	struct cw_conn *e;
	__u64 cookie;
	__u16 family;

	if (newstate != TCP_SYN_SENT && newstate != TCP_ESTABLISHED &&
	    newstate != TCP_LISTEN && newstate != TCP_CLOSE)
		return 0;
	if (sk_proto(sk) != IPPROTO_TCP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	/* Also gives an accepted socket its cookie before accept() returns
	 * it, so accept's exit can read it. */
	cookie = bpf_get_socket_cookie(sk);

	switch (newstate) {
	case TCP_SYN_SENT:
		if (oldstate != TCP_CLOSE)
			return 0;
		fill_header(&h, CW_CONNECT, (struct task_struct *)bpf_get_current_task());
		remember(cookie, &h, 0);
		return 0;
	case TCP_LISTEN:
		if (oldstate != TCP_CLOSE)
			return 0;
		e = conn_record(sk, family, cookie, IPPROTO_TCP);
		if (!e)
			return 0;
		fill_header(&e->h, CW_LISTEN, (struct task_struct *)bpf_get_current_task());
		remember(cookie, &e->h, 1);
		submit(e);
		return 0;
	case TCP_ESTABLISHED:
		o = bpf_map_lookup_elem(&owners, &cookie);
		if (!o || o->opened)
			return 0;
		o->opened = 1;
		emit_owned(sk, family, cookie, CW_CONNECT, &o->h);
		return 0;
	case TCP_CLOSE:
		o = bpf_map_lookup_elem(&owners, &cookie);
		if (o)
			close_owned(sk, family, cookie, o);
		return 0;
	}
	return 0;
}

/* The socket behind a file descriptor of the current process, or NULL if
 * the descriptor is not a socket. */
static __always_inline struct socket *fd_socket(long fd, __u64 *ino)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	struct inode *inode;
	unsigned int max;

	if (fd < 0 || !fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	inode = BPF_CORE_READ(f, f_inode);
	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	*ino = BPF_CORE_READ(inode, i_ino);
	return BPF_CORE_READ(f, private_data);
}

/* accept() and accept4() returned a connected socket: it is the caller's.
 * The accept is reserved before the owner is stored, so a close racing
 * with it lands after it in the ring. */
static __always_inline int on_accept(long fd)
{
	struct task_struct *task;
	struct cw_conn *e;
	struct socket *sock;
	struct sock *sk;
	__u64 ino = 0, cookie;
	__u16 family;
	struct cw_owner *o;

	if (fd < 0)
		return 0;
	sock = fd_socket(fd, &ino);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || sk_proto(sk) != IPPROTO_TCP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	cookie = read_cookie(sk);
	e = conn_record(sk, family, cookie, IPPROTO_TCP);
	if (!e)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	fill_header(&e->h, CW_ACCEPT, task);
	/* Without a cookie (the socket was established before the probe
	 * attached) its close cannot be matched: report the accept alone. */
	if (cookie)
		remember(cookie, &e->h, 1);
	submit(e);
	/* Closed while it waited in the accept queue (reset by the peer):
	 * its ->CLOSE found no owner, so the close is reported here. */
	if (cookie && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_CLOSE) {
		o = bpf_map_lookup_elem(&owners, &cookie);
		if (o)
			close_owned(sk, family, cookie, o);
	}
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int handle_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}

SEC("tp/syscalls/sys_exit_accept")
int handle_accept(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}

/* Reads an AF_INET or AF_INET6 sockaddr from user memory. The offsets are
 * the user ABI: family at 0, port at 2, IPv4 address at 4, IPv6 address
 * at 8. */
static __always_inline int read_sockaddr(const void *uaddr, struct udp_pending *p)
{
	__u16 fam = 0;
	__be16 port = 0;
	__be32 a4 = 0;

	if (bpf_probe_read_user(&fam, sizeof(fam), uaddr) ||
	    bpf_probe_read_user(&port, sizeof(port), uaddr + 2))
		return -1;
	p->dport = bpf_ntohs(port);
	if (fam == AF_INET) {
		if (bpf_probe_read_user(&a4, sizeof(a4), uaddr + 4))
			return -1;
		put_v4(p->daddr, a4);
		return 0;
	}
	if (fam == AF_INET6)
		return bpf_probe_read_user(p->daddr, sizeof(p->daddr), uaddr + 8) ? -1 : 0;
	/* AF_UNSPEC (a UDP disconnect) or something else. */
	return -1;
}

/* Entry of connect/sendto/sendmsg/sendmmsg: for a UDP socket not reported
 * yet, notes where it is going. `uaddr` may be NULL (a connected socket). */
static __always_inline int udp_enter(long fd, const void *uaddr)
{
	struct udp_pending p = {};
	struct socket *sock;
	struct sock *sk;
	__u16 family;
	__u32 tid;

	sock = fd_socket(fd, &p.ino);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || sk_proto(sk) != IPPROTO_UDP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (bpf_map_lookup_elem(&udp_seen, &p.ino))
		return 0;
	p.sk = (__u64)sk;
	if (uaddr) {
		if (read_sockaddr(uaddr, &p))
			return 0;
	} else {
		if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_ESTABLISHED)
			return 0;
		p.from_sock = 1;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&udp_pending, &tid, &p, BPF_ANY);
	return 0;
}

/* Exit of the same calls: on success, reports the socket's first
 * destination, once per socket. */
static __always_inline int udp_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct udp_pending *pp, p;
	struct cw_conn *e;
	struct sock *sk;
	__u16 family;
	__u8 one = 1;

	pp = bpf_map_lookup_elem(&udp_pending, &tid);
	if (!pp)
		return 0;
	p = *pp;
	bpf_map_delete_elem(&udp_pending, &tid);
	if (ret < 0)
		return 0;
	if (bpf_map_update_elem(&udp_seen, &p.ino, &one, BPF_NOEXIST))
		return 0;
	sk = (struct sock *)p.sk;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, CW_UDP, (struct task_struct *)bpf_get_current_task());
	e->cookie = read_cookie(sk);
	e->family = family;
	e->protocol = IPPROTO_UDP;
	e->opened_by = 0;
	e->bytes_sent = 0;
	e->bytes_received = 0;
	sock_local(sk, family, e);
	if (p.from_sock) {
		sock_remote(sk, family, e);
	} else {
		__builtin_memcpy(e->daddr, p.daddr, sizeof(e->daddr));
		e->dport = p.dport;
	}
	submit(e);
	return 0;
}

SEC("tp/syscalls/sys_enter_connect")
int handle_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	return udp_enter(ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tp/syscalls/sys_exit_connect")
int handle_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	return udp_exit(ctx->ret);
}

SEC("tp/syscalls/sys_enter_sendto")
int handle_sendto_enter(struct trace_event_raw_sys_enter *ctx)
{
	return udp_enter(ctx->args[0], (const void *)ctx->args[4]);
}

SEC("tp/syscalls/sys_exit_sendto")
int handle_sendto_exit(struct trace_event_raw_sys_exit *ctx)
{
	return udp_exit(ctx->ret);
}

/* sendmsg(fd, msg, flags) and sendmmsg(fd, msgvec, vlen, flags): the
 * (first) message's msg_name is the first field either way. */
static __always_inline int msg_enter(long fd, const void *msg)
{
	const void *name = NULL;

	if (msg && bpf_probe_read_user(&name, sizeof(name), msg))
		return 0;
	return udp_enter(fd, name);
}

SEC("tp/syscalls/sys_enter_sendmsg")
int handle_sendmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	return msg_enter(ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tp/syscalls/sys_exit_sendmsg")
int handle_sendmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	return udp_exit(ctx->ret);
}

SEC("tp/syscalls/sys_enter_sendmmsg")
int handle_sendmmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	return msg_enter(ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tp/syscalls/sys_exit_sendmmsg")
int handle_sendmmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	return udp_exit(ctx->ret);
}
