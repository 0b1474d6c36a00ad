#ifndef ATOMD_AGENT_H
#define ATOMD_AGENT_H

/// rename(from, to) that fails with EEXIST instead of replacing `to`
/// (renameat2 with RENAME_NOREPLACE, which Swift's Glibc does not declare).
/// The spool claims and files jobs with it: a job file is never overwritten.
/// Returns 0 or -1 with errno.
int atomd_rename_noreplace(const char *from, const char *to);

/// Makes `signo` write its number as one byte to `fd` (a non-blocking
/// pipe), from a sigaction handler installed before this returns: no
/// signal is lost between the call and the first read, as can happen while
/// libdispatch registers a signal source asynchronously. `fd` < 0 restores
/// the default action. Returns 0 or -1 with errno.
int atomd_signal_forward(int signo, int fd);

/// pipe2(2), which Swift's Glibc does not declare.
int atomd_pipe2(int fds[2], int flags);

#endif
