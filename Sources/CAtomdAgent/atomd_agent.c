#define _GNU_SOURCE
#include "atomd_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int atomd_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
}

/* Descriptor + 1 per signal, 0 for none: the handler may only read it. */
static volatile sig_atomic_t forward_to[65];

static void forward(int signo) {
    int saved = errno;
    int fd = (int)forward_to[signo] - 1;
    if (fd >= 0) {
        unsigned char byte = (unsigned char)signo;
        (void)!write(fd, &byte, 1);
    }
    errno = saved;
}

int atomd_signal_forward(int signo, int fd) {
    if (signo <= 0 || signo >= 65) {
        errno = EINVAL;
        return -1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    if (fd < 0) {
        action.sa_handler = SIG_DFL;
        if (sigaction(signo, &action, NULL) != 0) return -1;
        forward_to[signo] = 0;
        return 0;
    }
    forward_to[signo] = fd + 1;
    action.sa_handler = forward;
    action.sa_flags = SA_RESTART;
    return sigaction(signo, &action, NULL);
}

int atomd_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}
