#define _GNU_SOURCE
#include "atomd_shell.h"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>

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

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static int child_pipe[2] = {-1, -1};
static struct sigaction previous_child_action;

static void on_child_exit(int signo, siginfo_t *info, void *context) {
    int saved = errno;
    char byte = 0;
    ssize_t ignored = write(child_pipe[1], &byte, 1);
    (void)ignored;
    // Whoever handled SIGCHLD before (a library's process monitor) still does.
    if (previous_child_action.sa_flags & SA_SIGINFO) {
        if (previous_child_action.sa_sigaction) previous_child_action.sa_sigaction(signo, info, context);
    } else if (previous_child_action.sa_handler != SIG_DFL && previous_child_action.sa_handler != SIG_IGN) {
        previous_child_action.sa_handler(signo);
    }
    errno = saved;
}

int atomd_watch_child_exits(void) {
    if (pipe2(child_pipe, O_CLOEXEC) != 0) return -1;
    // A full pipe drops the byte: one wake-up reaps every exited child.
    if (fcntl(child_pipe[1], F_SETFL, O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    sigemptyset(&action.sa_mask);
    action.sa_sigaction = on_child_exit;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &action, &previous_child_action) != 0) return -1;
    return child_pipe[0];
}
