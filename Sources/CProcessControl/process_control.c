#include "process_control.h"

#include <errno.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

int sluice_set_parent_death_signal(int signal) {
#ifdef __linux__
  return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0);
#else
  (void)signal;
  errno = ENOSYS;
  return -1;
#endif
}

int sluice_set_thread_name(const char* name) {
#ifdef __linux__
  return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
#else
  (void)name;
  errno = ENOSYS;
  return -1;
#endif
}

int sluice_limit_malloc_arenas(int arenas) {
#ifdef __GLIBC__
  return mallopt(M_ARENA_MAX, arenas);
#else
  (void)arenas;
  return 0;
#endif
}
