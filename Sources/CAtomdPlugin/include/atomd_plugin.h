/*
 * atomd_plugin.h — the atomd plugin ABI, version 1.0.
 *
 * A plugin is a shared library that exports one function,
 * `atomd_plugin_entry_v1`, which returns a descriptor: the plugin's name and
 * version and a table of atoms. Each atom is one kind of step a job can use
 * as `uses: PLUGIN.ATOM`, with `execute`, `revert` and `check` functions.
 * This header is the whole contract: no Swift type, no C++ and no atomd
 * library crosses it, so a plugin can be written in any language that can
 * export a C function.
 *
 * DATA. Everything that crosses the ABI as data is UTF-8 JSON, passed as a
 * pointer and a length (`atomd_bytes`). It is not NUL-terminated: always use
 * the length.
 *
 * MEMORY. What atomd passes in (input, outputs, the call) belongs to atomd and
 * is valid only until the function returns. What a plugin passes back (the
 * response) must be allocated with malloc(3), or be NULL; atomd frees it with
 * free(3). The descriptor and everything it points to belong to the plugin
 * and must stay valid for the life of the process: atomd never unloads a
 * plugin (it never calls dlclose).
 *
 * THREADS. `atomd_plugin_entry_v1` is called once, before any atom function,
 * from one thread. Atom functions may then be called concurrently, each on a
 * thread of its own that atomd created for the call: a plugin must be
 * thread-safe, may block (read files, wait on the network) and should poll
 * `host->cancelled(call)` during long work. The host functions are
 * thread-safe but take the call they serve, which is valid only while that
 * call runs. Do not call them from threads you start yourself after the call
 * has returned.
 *
 * ISOLATION. By default atomd runs each plugin in a child process
 * (`atomd plugin-host`). Nothing in this header changes with isolation: a
 * plugin cannot tell. Standard output is redirected to standard error in the
 * child; both end up in the step's log.
 *
 * VERSIONING. The major version changes only when the ABI breaks; atomd
 * refuses a plugin built for another major version, with a message that
 * names both. A minor version only appends: new fields at the end of a
 * struct, new host functions at the end of the host table, new flags. Every
 * struct starts with its size (`struct_size`, set to sizeof by whoever
 * fills it), so each side reads only the fields the other side knows:
 *   - a plugin built for 1.2 loaded by atomd 1.0: atomd reads the 1.0 fields;
 *   - a plugin built for 1.0 loaded by atomd 1.2: atomd sees the smaller
 *     struct_size and treats the missing fields as zero / NULL;
 *   - a plugin must check `host->struct_size` before using a host function
 *     added after 1.0 (see ATOMD_HOST_HAS).
 * A struct smaller than its 1.0 size is refused.
 */
#ifndef ATOMD_PLUGIN_H
#define ATOMD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes. */
#define ATOMD_ABI_MAJOR 1
#define ATOMD_ABI_MINOR 0

/** `atomd_plugin.magic`: the bytes "ATOMDPLG" read as a little-endian integer. */
#define ATOMD_PLUGIN_MAGIC UINT64_C(0x474C5044444D4F54)

/** The name of the entry symbol, for dlsym. */
#define ATOMD_PLUGIN_ENTRY_SYMBOL "atomd_plugin_entry_v1"

/** Bytes of UTF-8 JSON: a pointer and a length, never NUL-terminated. */
typedef struct atomd_bytes {
    const char *data;
    size_t length;
} atomd_bytes;

/**
 * What an atom function returns.
 *
 * execute and revert return ATOMD_OK or ATOMD_FAILED. check returns
 * ATOMD_OK when the atom's effect is present in the world, ATOMD_ABSENT when
 * it is not, ATOMD_UNKNOWN when the probe cannot tell, and ATOMD_FAILED when
 * the probe itself failed. Any other value is treated as ATOMD_FAILED.
 */
typedef enum atomd_status {
    ATOMD_OK = 0,
    ATOMD_FAILED = 1,
    ATOMD_ABSENT = 2,
    ATOMD_UNKNOWN = 3,
} atomd_status;

/** `atomd_atom.flags`. */
enum {
    /** The atom implements revert: compensation calls it. */
    ATOMD_ATOM_REVERT = 1u << 0,
    /** The atom implements check. */
    ATOMD_ATOM_CHECK = 1u << 1,
};

struct atomd_host;

/**
 * One call of an atom function. Filled by atomd; valid only during the call.
 */
typedef struct atomd_call {
    /** sizeof(atomd_call) as atomd was built. */
    uint32_t struct_size;
    /** The step's attempt, from 1. */
    uint32_t attempt;
    /** The atom being called, without the plugin prefix ("write"). */
    atomd_bytes atom;
    /** The run's id. */
    atomd_bytes run_id;
    /** The step's path in the job, groups first ("deploy/unpack"). */
    atomd_bytes step_path;
    /**
     * This request's idempotency key. execute: RUN/STEP/ATTEMPT; it stays the
     * same when an attempt is run again after atomd was interrupted, so a
     * plugin that talks to an API can send it as an idempotency key. revert:
     * RUN/STEP/ATTEMPT/revert/N, a key of its own (never the create's, which
     * a strict API would refuse or answer with the create's reply). check:
     * empty. A plugin that makes files names its leftovers after run_id and
     * step_path, which execute and revert share.
     */
    atomd_bytes idempotency_key;
    /** The atom's `user_data` from the descriptor. */
    void *atom_user_data;
    /** The host table, the same one the entry function received. */
    const struct atomd_host *host;
    /** Reserved for atomd: pass the call as given to the host functions. */
    void *host_private;
} atomd_call;

/**
 * Functions atomd offers to the plugin. The table is passed to the entry
 * function and stays valid for the life of the process.
 */
typedef struct atomd_host {
    /** sizeof(atomd_host) as atomd was built: which functions exist. */
    uint32_t struct_size;
    /** The ABI version of the atomd that loaded the plugin. */
    uint16_t abi_major;
    uint16_t abi_minor;
    /** Appends a line (UTF-8, no newline needed) to the step's log. */
    void (*log)(const atomd_call *call, const char *line, size_t length);
    /**
     * Reports progress from 0 to 1, with an optional note (NULL, 0 for none)
     * shown beside the step.
     */
    void (*progress)(const atomd_call *call, double fraction, const char *note, size_t note_length);
    /**
     * Non-zero once the call should stop: the step timed out, or the run was
     * cancelled. Return ATOMD_FAILED soon after; atomd stops waiting (and,
     * under isolation, kills the plugin's process) after a grace period.
     */
    int (*cancelled)(const atomd_call *call);
} atomd_host;

/** True when `host` provides the member `field` (a function added in a later minor version). */
#define ATOMD_HOST_HAS(host, field) \
    ((host)->struct_size >= offsetof(atomd_host, field) + sizeof((host)->field))

/**
 * An atom function: execute, revert or check.
 *
 * `input` is the step's `with:` as a JSON object, expressions resolved.
 * `outputs` is the JSON object execute returned earlier (for revert and
 * check), or `null` (the bytes "null") when there are none: execute failed or
 * was interrupted before its outputs were recorded. revert must then still
 * work from `input` and the idempotency key, and must tolerate "it never
 * happened". For execute, `outputs` is always `null`.
 *
 * `*response` is NULL on entry. A function may set it to a malloc'ed JSON
 * document and `*response_length` to its length; atomd frees it:
 *   - execute, ATOMD_OK: {"outputs": {...}, "old_state": ..., "new_state": ...},
 *     every member optional. "outputs" (an object) are the step's outputs,
 *     which jobs read as steps.ID.outputs.KEY and which revert and check get
 *     back. "old_state" and "new_state" (any JSON) are kept in the journal
 *     and shown by `atomd show`. No response means no outputs.
 *   - check, ATOMD_OK: optionally {"outputs": {...}}, the outputs the probe
 *     found.
 *   - ATOMD_FAILED or ATOMD_UNKNOWN: optionally {"message": "...",
 *     "retryable": true|false, "changed_nothing": true|false}. "retryable":
 *     false means another attempt cannot help (bad input); "changed_nothing":
 *     true means the call is known to have changed nothing, so atomd neither
 *     checks nor reverts it. A response that is not such an object is used as
 *     the message text.
 */
typedef atomd_status (*atomd_atom_fn)(const atomd_call *call, atomd_bytes input, atomd_bytes outputs,
                                      char **response, size_t *response_length);

/** One atom in the plugin's table. */
typedef struct atomd_atom {
    /** sizeof(atomd_atom) as the plugin was built. */
    uint32_t struct_size;
    /** ATOMD_ATOM_REVERT | ATOMD_ATOM_CHECK, as implemented. */
    uint32_t flags;
    /**
     * The atom's name within the plugin: [a-z0-9_-]+, unique in the plugin.
     * Jobs use it as `uses: PLUGIN.NAME`. NUL-terminated UTF-8.
     */
    const char *name;
    /** One line for `atomd plugins`. NUL-terminated UTF-8, may be NULL. */
    const char *description;
    /**
     * A JSON Schema of the input object, shown by `atomd plugins inspect`.
     * NUL-terminated UTF-8 JSON, may be NULL.
     */
    const char *input_schema;
    /** Required. */
    atomd_atom_fn execute;
    /** Required when flags has ATOMD_ATOM_REVERT, else may be NULL. */
    atomd_atom_fn revert;
    /** Required when flags has ATOMD_ATOM_CHECK, else may be NULL. */
    atomd_atom_fn check;
    /** Passed back as `call->atom_user_data`. */
    void *user_data;
} atomd_atom;

/** What the entry function returns. */
typedef struct atomd_plugin {
    /** ATOMD_PLUGIN_MAGIC. */
    uint64_t magic;
    /** sizeof(atomd_plugin) as the plugin was built. */
    uint32_t struct_size;
    /** ATOMD_ABI_MAJOR and ATOMD_ABI_MINOR as the plugin was built. */
    uint16_t abi_major;
    uint16_t abi_minor;
    /**
     * The plugin's name: [a-z0-9_-]+. It is the first half of `uses:` and
     * must match the file name: NAME.so or libNAME.so. NUL-terminated UTF-8.
     */
    const char *name;
    /** The plugin's version, e.g. "1.4.2". NUL-terminated UTF-8. */
    const char *version;
    /** One line for `atomd plugins`. NUL-terminated UTF-8, may be NULL. */
    const char *description;
    /** The number of atoms in `atoms`. */
    uint32_t atom_count;
    /**
     * sizeof(atomd_atom) as the plugin was built: the stride between the
     * entries of `atoms`, so that later minor versions can grow the struct.
     */
    uint32_t atom_struct_size;
    /** The atoms, `atom_count` entries, each `atom_struct_size` bytes apart. */
    const atomd_atom *atoms;
} atomd_plugin;

/**
 * The entry symbol every plugin exports. Called once, before any atom
 * function; `host` stays valid for the life of the process. Returns the
 * descriptor (which must stay valid for the life of the process), or NULL
 * when the plugin cannot work here (say why on stderr first).
 */
const atomd_plugin *atomd_plugin_entry_v1(const atomd_host *host);

#ifdef __cplusplus
}
#endif

#endif
