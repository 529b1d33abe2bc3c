/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The client socket: CLIENT_REQUEST datagrams, checked and handed to the
 * coordinator.
 */

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "state.h"

/* Records ahead whose pin probes start their cache misses (datagram()). */
#define PIN_AHEAD 4

static void
datagram(struct tally_node *n, const uint8_t *p, size_t len, const struct sockaddr_in *sa)
{
	struct tally_wire_frame f;
	enum tally_wire_verdict v;
	struct reply_to to = { .node = false, .sa = *sa };

	n->clients.stats.frames++;
	/* The credential the request names is the key it must be MAC'd with. */
	v = tally_wire_client_id(p, len, &to.cred);
	if (v == TALLY_WIRE_OK)
		v = tally_wire_decode_payload(p, len, reply_cred_key(n, to.cred), &f);
	if (v == TALLY_WIRE_OK && f.hdr.type != TALLY_WIRE_CLIENT_REQUEST)
		v = TALLY_WIRE_DROP_BAD_TYPE;
	if (v != TALLY_WIRE_OK) {
		n->clients.stats.drops[v]++;
		if (n->now - n->clients.last_warn > 1000000000u) {
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
			if (v == TALLY_WIRE_DROP_BAD_VERSION) /* a client built before this node's wire version */
				node_note(n, "refused a client frame from %s:%u: bad_version (wire v%u; this node speaks v%u: "
					  "upgrade the client)", ip, ntohs(sa->sin_port), p[4], TALLY_WIRE_VERSION);
			else
				node_note(n, "refused a client frame from %s:%u: %s", ip, ntohs(sa->sin_port),
					  tally_wire_verdict_name(v));
			n->clients.last_warn = n->now;
		}
		/* An authenticated frame with a bad record: answer each record (the
		 * walk by their beats checked out: the count came before the
		 * records) with its op id, that nothing in it was applied. */
		if (v == TALLY_WIRE_DROP_BAD_RECORD) {
			size_t rb = len - TALLY_WIRE_HDR_LEN - TALLY_WIRE_MAC_LEN, off = 0;
			while (off < rb) {
				uint8_t op;
				uint64_t client, seq;
				off += tally_wire_client_opid(p + TALLY_WIRE_HDR_LEN + off, &op, &client, &seq);
				reply_to(n, &to, op >= 1 && op <= 4 ? op : TALLY_WIRE_OP_GET, client, seq, NULL, 0,
					 TALLY_E_BAD_REQUEST, 0, NULL, 0);
			}
		}
		return;
	}
	/* Each write probes the pins (opids.h), a cache miss in a table of a
	 * million: start each probe's miss PIN_AHEAD records before its write
	 * needs it, reading the op ids of the records ahead in place. */
	size_t off = 0, ahead = 0;
	unsigned next = 0;
	for (unsigned i = 0; i < f.hdr.count; i++) {
		for (; next < f.hdr.count && next <= i + PIN_AHEAD; next++) {
			uint8_t op;
			uint64_t client, seq;
			ahead += tally_wire_client_opid(f.records + ahead, &op, &client, &seq);
			opids_pin_prefetch(n, client, seq);
		}
		struct tally_wire_client c;
		tally_wire_next_client(&f, &off, &c);
		coord_request(n, &c, &to, false);
	}
}

unsigned
clients_poll(struct tally_node *n)
{
	static _Thread_local uint8_t bufs[CLIENT_BURST][TALLY_WIRE_MAX_PAYLOAD + 64]; /* one per lcore */
	struct mmsghdr msgs[CLIENT_BURST];
	struct iovec iov[CLIENT_BURST];
	struct sockaddr_in sa[CLIENT_BURST];

	for (unsigned i = 0; i < CLIENT_BURST; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sa[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(sa[i]);
	}
	int got = recvmmsg(n->reply.client_fd, msgs, CLIENT_BURST, MSG_DONTWAIT, NULL);
	if (got <= 0)
		return 0;
	for (int i = 0; i < got; i++)
		datagram(n, bufs[i], msgs[i].msg_len, &sa[i]);
	return (unsigned)got;
}
