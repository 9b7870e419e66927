/*
 * loop: the daemon's single libevent event base, signal events, deferred
 * work and monotonic time.
 *
 * Everything that waits (DNS, HTTP, timers, signals) waits on this base.
 * loop_defer() runs a function on the next loop turn, which is how objects
 * are freed safely from inside library callbacks (docs/style.md §9 rule 4).
 */
#ifndef EWSPROBED_LOOP_H
#define EWSPROBED_LOOP_H

#include <stdint.h>

struct event_base;

typedef void (*loop_cb)(void *);
typedef void (*loop_signal_cb)(int, void *);

void loop_init(void);
void loop_free(void);
struct event_base *loop_base(void);
int loop_run(void);
void loop_exit(void);
void loop_defer(loop_cb, void *);
void loop_signal(int, loop_signal_cb, void *);
struct event;
int loop_timer_ms(struct event *, uint64_t);
uint64_t loop_now_ms(void);
uint64_t loop_now_usec(void);

#endif
