/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The net_af_packet geometry tallyd --iface asks for, at every MTU a
 * configuration allows (576..9000) and the runtime's lowest (128): what
 * the kernel's PACKET_RX_RING and the PMD accept (framesz a multiple of 16,
 * blocksz a multiple of the page size holding a whole number of frames with
 * nothing left over, framecnt a whole number of blocks), room in the frame
 * for the kernel's header and a whole Ethernet frame, and mbufs with room
 * for what the PMD copies into them. No EAL, no root.
 */

#include <errno.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <sys/socket.h>

#include "cmocka_prelude.h"
#include "dp.h"

static void
test_every_mtu(void **state)
{
	unsigned page = (unsigned)sysconf(_SC_PAGESIZE);

	(void)state;
	for (unsigned mtu = 128; mtu <= 9000; mtu++) {
		struct tally_dp_af_packet g;
		if (mtu > 128 && mtu < 576)
			continue;
		assert_int_equal(tally_dp_af_packet_geometry(mtu, &g), 0);
		/* the kernel: TPACKET_ALIGNMENT, pages, whole frames per block */
		assert_int_equal(g.framesz % TPACKET_ALIGNMENT, 0);
		assert_int_equal(g.blocksz % page, 0);
		assert_true(g.framesz <= g.blocksz);
		/* the PMD indexes frame i at i * framesz across blocks */
		assert_int_equal(g.blocksz % g.framesz, 0);
		assert_int_equal(g.framecnt % (g.blocksz / g.framesz), 0);
		assert_true(g.framecnt >= 512 && g.framecnt < 512 + g.blocksz / g.framesz);
		/* received: the IP packet starts 16-aligned after the header and a
		 * 16-byte link area; the whole IP packet fits after it */
		assert_true(g.framesz >= TPACKET_ALIGN(TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + mtu));
		/* and not much more: at most 2 KiB over what is needed */
		assert_true(g.framesz <= TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + mtu + 2048);
		/* the PMD's rx queue check, and a whole Ethernet frame per mbuf */
		unsigned room = tally_dp_data_room(mtu);
		assert_true(room >= g.framesz - (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll)));
		assert_true(room >= 14 + mtu);
		assert_true(room + 128 <= UINT16_MAX);
	}
}

static void
test_out_of_range(void **state)
{
	struct tally_dp_af_packet g;

	(void)state;
	assert_int_equal(tally_dp_af_packet_geometry(127, &g), -EINVAL);
	assert_int_equal(tally_dp_af_packet_geometry(9001, &g), -EINVAL);
	assert_true(tally_dp_data_room(0) == tally_dp_data_room(1500));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_mtu),
		cmocka_unit_test(test_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
