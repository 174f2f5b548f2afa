// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* For one benchmark only (`bench/net_floor.sh`): a program on each
 * tracepoint causeway's network programs use, returning at once. Attached
 * beside a probe loaded without its network programs, they measure what
 * the kernel's dispatch to a program costs the traced code by itself. Kept
 * out of causeway.bpf.c, so the probe carries no switch for it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(hollow_sock_state)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(hollow_recv)
{
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(hollow_send)
{
	return 0;
}
