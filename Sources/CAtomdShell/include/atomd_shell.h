#ifndef ATOMD_SHELL_H
#define ATOMD_SHELL_H

#include <spawn.h>
#include <sys/types.h>

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to
/// this process instead of init, so the supervisor can find and stop them.
/// (prctl is variadic, which Swift cannot call.) Returns 0 or -1 with errno.
int atomd_set_child_subreaper(void);

/// The supplementary groups of `user` with primary group `group`, as
/// initgroups() would set them. Writes at most `capacity` ids; returns the
/// number of groups, or -1 when `capacity` is too small.
int atomd_group_list(const char *user, gid_t group, gid_t *groups, int capacity);

/// posix_spawn_file_actions_addclosefrom_np(actions, from): the child starts
/// with no descriptor at or above `from`, whatever other threads opened
/// without close-on-exec meanwhile (Foundation's pipes, for one). Swift's
/// Glibc does not declare it. Returns 0 or an error number.
int atomd_spawn_close_from(posix_spawn_file_actions_t *actions, int from);

/// Installs a SIGCHLD handler (SA_RESTART, chaining any earlier one) that
/// writes a byte to a pipe, and returns the pipe's read end (or -1 with
/// errno): a thread blocked on it learns at once that a child exited.
int atomd_watch_child_exits(void);

#endif
