/*
 * hashset: owns a set of strings with a value each (open addressing with
 * linear probing, kept at most half full) and the FNV-1a string hash.
 *
 * The configuration finds duplicate sections, keys and names with it in
 * constant time, so that checking a file stays linear in its size; the
 * scheduler spreads its targets with the same hash, which must not change
 * between runs or machines.
 */
#include <stdlib.h>
#include <string.h>

#include "hashset.h"
#include "xmalloc.h"

/* The table's first size (slots); it doubles when half full. */
#define HASHSET_FIRST_SIZE 64

/* A slot: a string and what it stands for. */
struct hashset_slot {
	char *key; /* NULL: free */
	void *value;
};

struct hashset {
	struct hashset_slot *slots;
	size_t size; /* a power of two, or 0 */
	size_t n;
};

/*
 * FNV-1a hash of a string: the same on every run and machine (the
 * scheduler's stable offsets use it too).
 */
uint32_t
hashset_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* A new empty set. */
struct hashset *
hashset_new(void)
{
	return xcalloc(1, sizeof(struct hashset));
}

/* Free a set and its strings (the values are not owned). */
void
hashset_free(struct hashset *set)
{
	if (set == NULL)
		return;
	hashset_clear(set);
	free(set->slots);
	free(set);
}

/*
 * Empty a set (the values are not owned). A table of the first size is
 * kept for the next strings, zeroed: the configuration empties its set of
 * keys at every section, 10,000 times in a file of 10,000 mailboxes. A
 * larger one is freed, so that emptying stays cheap.
 */
void
hashset_clear(struct hashset *set)
{
	size_t i;

	for (i = 0; i < set->size; i++)
		free(set->slots[i].key);
	if (set->size == HASHSET_FIRST_SIZE) {
		memset(set->slots, 0, set->size * sizeof *set->slots);
		set->n = 0;
		return;
	}
	free(set->slots);
	memset(set, 0, sizeof *set);
}

/* The slot of s in a set: where it is, or the free slot it would take. */
static struct hashset_slot *
hashset_slot(const struct hashset *set, const char *s)
{
	size_t i = hashset_hash(s) & (set->size - 1);

	for (; set->slots[i].key != NULL; i = (i + 1) & (set->size - 1)) {
		if (strcmp(set->slots[i].key, s) == 0)
			break;
	}
	return &set->slots[i];
}

/* Whether s is in the set. */
int
hashset_has(const struct hashset *set, const char *s)
{
	return set->size != 0 && hashset_slot(set, s)->key != NULL;
}

/* The value stored with s, or NULL when s is not in the set. */
void *
hashset_get(const struct hashset *set, const char *s)
{
	return hashset_has(set, s) ? hashset_slot(set, s)->value : NULL;
}

/* How many strings the set holds. */
size_t
hashset_count(const struct hashset *set)
{
	return set->n;
}

/* Double the table (64 slots at first), moving every string. */
static void
hashset_grow(struct hashset *set)
{
	struct hashset_slot *old = set->slots;
	size_t i, oldsize = set->size;

	set->size = oldsize == 0 ? HASHSET_FIRST_SIZE : oldsize * 2;
	set->slots = xcalloc(set->size, sizeof *set->slots);
	for (i = 0; i < oldsize; i++) {
		if (old[i].key != NULL)
			*hashset_slot(set, old[i].key) = old[i];
	}
	free(old);
}

/*
 * Add a copy of s with a value; return 1, or 0 (and change nothing) if s
 * was there already.
 */
int
hashset_add(struct hashset *set, const char *s, void *value)
{
	struct hashset_slot *slot;

	if (set->n + 1 > set->size / 2)
		hashset_grow(set);
	slot = hashset_slot(set, s);
	if (slot->key != NULL)
		return 0;
	slot->key = xstrdup(s);
	slot->value = value;
	set->n++;
	return 1;
}
