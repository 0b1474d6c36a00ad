#ifndef ATOMD_AGENT_H
#define ATOMD_AGENT_H

/// rename(from, to) that fails with EEXIST instead of replacing `to`
/// (renameat2 with RENAME_NOREPLACE, which Swift's Glibc does not declare).
/// The spool claims and files jobs with it: a job file is never overwritten.
/// Returns 0 or -1 with errno.
int atomd_rename_noreplace(const char *from, const char *to);

#endif
