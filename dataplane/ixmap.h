/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * An open-addressing index from keys to dense uint32 entry numbers, for
 * tables that keep their entries elsewhere (the dedup window, the offload
 * engine's key table). The map stores only entry numbers; the caller hashes
 * keys and says, through callbacks, whether an entry holds a key and what an
 * entry's hash is. Linear probing, load factor at most 1/2, and
 * backward-shift deletion (no tombstones), so lookups stay short forever.
 */

#ifndef TALLY_IXMAP_H
#define TALLY_IXMAP_H

#include <stdbool.h>
#include <stdint.h>

struct tally_ixmap {
	uint32_t mask;  /**< slots - 1 */
	uint32_t *slot; /**< entry + 1, or 0 for empty */
};

/** Does entry @p e hold the key being looked for? */
typedef bool (*tally_ixmap_eq_fn)(const void *ctx, uint32_t e);
/** The hash of the key entry @p e holds. */
typedef uint64_t (*tally_ixmap_hash_fn)(const void *ctx, uint32_t e);

/** A map for up to @p entries entries. @return 0, -EINVAL (0 or over 2^30), -ENOMEM. */
int tally_ixmap_init(struct tally_ixmap *m, uint32_t entries);

/** Release @p m. */
void tally_ixmap_fini(struct tally_ixmap *m);

/**
 * The slot holding the key with hash @p hash (for which @p eq says yes), or
 * the empty slot where it would go; *found tells which.
 */
uint32_t tally_ixmap_find(const struct tally_ixmap *m, uint64_t hash, tally_ixmap_eq_fn eq,
			  const void *ctx, bool *found);

/** The entry in slot @p pos (a slot tally_ixmap_find() said holds the key). */
static inline uint32_t
tally_ixmap_entry(const struct tally_ixmap *m, uint32_t pos)
{
	return m->slot[pos] - 1;
}

/** Put entry @p e in the empty slot @p pos from tally_ixmap_find(). */
static inline void
tally_ixmap_put(struct tally_ixmap *m, uint32_t pos, uint32_t e)
{
	m->slot[pos] = e + 1;
}

/** Remove slot @p pos, moving later members of its probe run back into the hole. */
void tally_ixmap_delete(struct tally_ixmap *m, uint32_t pos, tally_ixmap_hash_fn hash_of,
			const void *ctx);

#endif /* TALLY_IXMAP_H */
