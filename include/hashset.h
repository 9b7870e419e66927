/*
 * hashset: a set of strings, each with a value, found in constant time;
 * and the stable string hash it uses (FNV-1a), which is the same on every
 * run and machine.
 *
 * The set copies its strings; it does not own the values.
 */
#ifndef EWSPROBED_HASHSET_H
#define EWSPROBED_HASHSET_H

#include <stddef.h>
#include <stdint.h>

struct hashset;

struct hashset *hashset_new(void);
void hashset_free(struct hashset *);
void hashset_clear(struct hashset *);
int hashset_add(struct hashset *, const char *, void *);
int hashset_has(const struct hashset *, const char *);
void *hashset_get(const struct hashset *, const char *);
size_t hashset_count(const struct hashset *);
uint32_t hashset_hash(const char *);

#endif
