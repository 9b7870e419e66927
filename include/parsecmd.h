/*
 * parsecmd: `ewsprobed parse FILE|-` — read one saved Autodiscover answer
 * and print, as one JSON object on stdout, what a phone would take from it
 * (the keys of adxml_result_json()).
 */
#ifndef EWSPROBED_PARSECMD_H
#define EWSPROBED_PARSECMD_H

/* At most this much of FILE is read; anything larger is "too large". */
#define PARSECMD_MAX_READ (16u * 1024u * 1024u)

int parsecmd_run(const char *);

#endif
