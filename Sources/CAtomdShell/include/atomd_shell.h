#ifndef ATOMD_SHELL_H
#define ATOMD_SHELL_H

#include <sys/types.h>

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to
/// this process instead of init, so the supervisor can find and stop them.
/// (prctl is variadic, which Swift cannot call.) Returns 0 or -1 with errno.
int atomd_set_child_subreaper(void);

/// The supplementary groups of `user` with primary group `group`, as
/// initgroups() would set them. Writes at most `capacity` ids; returns the
/// number of groups, or -1 when `capacity` is too small.
int atomd_group_list(const char *user, gid_t group, gid_t *groups, int capacity);

#endif
