/*
 * trouble: a plugin that misbehaves on request, for atomd's loader and
 * isolation tests. Each atom is one way a plugin can go wrong.
 */
#include <atomd_plugin.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const atomd_host *host;

static atomd_status respond(const char *text, char **response, size_t *length) {
    *length = strlen(text);
    *response = malloc(*length);
    if (*response == NULL) return ATOMD_FAILED;
    memcpy(*response, text, *length);
    return ATOMD_OK;
}

/* The number after "key": in the input, or `fallback`. */
static long number(atomd_bytes input, const char *key, long fallback) {
    char *text = malloc(input.length + 1);
    if (text == NULL) return fallback;
    memcpy(text, input.data, input.length);
    text[input.length] = 0;
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    char *found = strstr(text, pattern);
    long value = found ? strtol(found + strlen(pattern), NULL, 10) : fallback;
    free(text);
    return value;
}

static atomd_status noop(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs; (void)response; (void)length;
    return ATOMD_OK;
}

static atomd_status echo(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)outputs;
    host->log(call, "echo: called", 12);
    host->progress(call, 0.5, "half way", 8);
    size_t size = input.length + 64;
    char *text = malloc(size);
    if (text == NULL) return ATOMD_FAILED;
    int written = snprintf(text, size, "{\"outputs\": {\"input\": %.*s}, \"new_state\": \"echoed\"}", (int)input.length, input.data);
    *response = text;
    *length = (size_t)written;
    return ATOMD_OK;
}

static atomd_status echo_revert(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)input; (void)response; (void)length;
    char line[256];
    int written = snprintf(line, sizeof line, "revert with outputs %.*s", (int)(outputs.length > 200 ? 200 : outputs.length), outputs.data);
    host->log(call, line, (size_t)written);
    return ATOMD_OK;
}

/* Present only when the input says "present": 1. */
static atomd_status echo_check(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)outputs; (void)response; (void)length;
    return number(input, "present", 0) ? ATOMD_OK : ATOMD_ABSENT;
}

/* The misbehaving atoms change nothing in the world: their check says so, so compensation has nothing to undo. */
static atomd_status nothing(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs; (void)response; (void)length;
    return ATOMD_ABSENT;
}

static atomd_status fail(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs;
    respond("{\"message\": \"trouble.fail failed as asked\", \"retryable\": false}", response, length);
    return ATOMD_FAILED;
}

static atomd_status segfault(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs; (void)response; (void)length;
    fprintf(stderr, "segfault: about to write through NULL\n");
    fflush(stderr);
    *(volatile int *)0 = 1;
    return ATOMD_OK;
}

static atomd_status do_abort(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs; (void)response; (void)length;
    abort();
}

/* Ignores cancellation: only killing the process ends it. */
static atomd_status hang(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs; (void)response; (void)length;
    for (;;) pause();
}

/* Waits "ms" milliseconds, stopping early when cancelled. */
static atomd_status slow(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)outputs;
    long ms = number(input, "ms", 1000);
    struct timespec tick = {0, 5 * 1000 * 1000};
    for (long waited = 0; waited < ms; waited += 5) {
        if (host->cancelled(call)) {
            respond("{\"message\": \"trouble.slow stopped: cancelled\"}", response, length);
            return ATOMD_FAILED;
        }
        nanosleep(&tick, NULL);
    }
    return ATOMD_OK;
}

/* Allocates "mb" MiB, touches every page and never frees it. */
static atomd_status leak(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)outputs; (void)response; (void)length;
    size_t bytes = (size_t)number(input, "mb", 64) << 20;
    char *block = malloc(bytes);
    memset(block, 1, bytes);
    return ATOMD_OK;
}

/* Prints to stdout, which must not reach atomd's frames. */
static atomd_status print(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs;
    static const char junk[] = "\0\0\0\x10not a frame at all\n";
    fwrite(junk, 1, sizeof junk - 1, stdout);
    fflush(stdout);
    return respond("{\"outputs\": {\"printed\": true}}", response, length);
}

/* Answers with text that is not JSON. */
static atomd_status garble(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs;
    return respond("{\"outputs\": ", response, length);
}

#define ATOM(n, d, f, e, r, c) { sizeof(atomd_atom), f, n, d, "{\"type\": \"object\"}", e, r, c, NULL }

static const atomd_atom atoms[] = {
    ATOM("noop", "does nothing", 0, noop, NULL, NULL),
    ATOM("echo", "returns its input as outputs", ATOMD_ATOM_REVERT | ATOMD_ATOM_CHECK, echo, echo_revert, echo_check),
    ATOM("fail", "fails, not retryable", 0, fail, NULL, NULL),
    ATOM("segfault", "writes through NULL", ATOMD_ATOM_CHECK, segfault, NULL, nothing),
    ATOM("abort", "calls abort()", ATOMD_ATOM_CHECK, do_abort, NULL, nothing),
    ATOM("hang", "never returns, ignores cancellation", ATOMD_ATOM_CHECK, hang, NULL, nothing),
    ATOM("slow", "waits input.ms, honouring cancellation", ATOMD_ATOM_CHECK, slow, NULL, nothing),
    ATOM("leak", "leaks input.mb MiB", ATOMD_ATOM_CHECK, leak, NULL, nothing),
    ATOM("print", "prints to stdout", 0, print, NULL, NULL),
    ATOM("garble", "answers with broken JSON", 0, garble, NULL, NULL),
};

static const atomd_plugin plugin = {
    .magic = ATOMD_PLUGIN_MAGIC,
    .struct_size = sizeof(atomd_plugin),
    .abi_major = ATOMD_ABI_MAJOR,
    .abi_minor = ATOMD_ABI_MINOR,
    .name = "trouble",
    .version = "1.0.0",
    .description = "misbehaves on request (atomd's tests)",
    .atom_count = sizeof atoms / sizeof atoms[0],
    .atom_struct_size = sizeof(atomd_atom),
    .atoms = atoms,
};

const atomd_plugin *atomd_plugin_entry_v1(const atomd_host *given) {
    host = given;
    return &plugin;
}
