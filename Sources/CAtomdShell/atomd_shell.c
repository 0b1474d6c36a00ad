#define _GNU_SOURCE
#include "atomd_shell.h"

#include <grp.h>
#include <sys/prctl.h>

int atomd_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int atomd_group_list(const char *user, gid_t group, gid_t *groups, int capacity) {
    int count = capacity;
    if (getgrouplist(user, group, groups, &count) < 0) {
        return -1;
    }
    return count;
}

int atomd_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
