/*
 * once: the one-shot check an admin runs at a shell — every selected
 * mailbox probed once under each of its profiles, printed as a step tree
 * like Microsoft's Remote Connectivity Analyzer, ending with the verdict
 * and the remedy. The exit status follows the Nagios convention.
 */
#ifndef EWSPROBED_ONCE_H
#define EWSPROBED_ONCE_H

#define ONCE_OK 0
#define ONCE_WARNING 1
#define ONCE_CRITICAL 2
#define ONCE_UNKNOWN 3

int once_run(const char *, char **, int);

#endif
