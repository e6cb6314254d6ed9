#ifndef SLUICE_PROCESS_CONTROL_H
#define SLUICE_PROCESS_CONTROL_H

/* Process-control calls Swift cannot make directly (prctl is variadic). */

/** Asks the kernel to send `signal` to this process when the thread that started it exits
 *  (Linux PR_SET_PDEATHSIG). Returns 0, or -1 with errno set (and on other systems). */
int sluice_set_parent_death_signal(int signal);

/** Names the calling thread as `top -H`, `perf` and /proc/PID/task/TID/comm show it (Linux
 *  PR_SET_NAME: the first 15 bytes are kept). Returns 0, or -1 with errno set (and on other
 *  systems). */
int sluice_set_thread_name(const char* name);

/** Caps the malloc arenas glibc creates for this process's threads (M_ARENA_MAX); to take
 *  effect for every thread, call it before any thread but the main one starts. Returns 1 on
 *  success, 0 otherwise (and on other C libraries). */
int sluice_limit_malloc_arenas(int arenas);

#endif
