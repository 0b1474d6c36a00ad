/*
 * One plugin per defined fault, compiled by the tests with cc -D<FAULT>:
 * each must be refused by atomd's loader with its own message.
 */
#include <atomd_plugin.h>
#include <stddef.h>

#ifndef NO_ENTRY
static atomd_status run(const atomd_call *call, atomd_bytes input, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)input; (void)outputs; (void)response; (void)length;
    return ATOMD_OK;
}

static atomd_atom atoms[] = {
    { sizeof(atomd_atom), 0, "one", "", NULL, run, NULL, NULL, NULL },
    { sizeof(atomd_atom), 0, "two", "", NULL, run, NULL, NULL, NULL },
};

static atomd_plugin plugin = {
    ATOMD_PLUGIN_MAGIC, sizeof(atomd_plugin), ATOMD_ABI_MAJOR, ATOMD_ABI_MINOR,
    "broken", "0.1", "", 2, sizeof(atomd_atom), atoms,
};

const atomd_plugin *atomd_plugin_entry_v1(const atomd_host *host) {
    (void)host;
#if defined(BAD_MAGIC)
    plugin.magic = 0x1234;
#elif defined(MAJOR_TWO)
    plugin.abi_major = 2;
#elif defined(SMALL_STRUCT)
    plugin.struct_size = 16;
#elif defined(SMALL_ATOM)
    plugin.atom_struct_size = 8;
#elif defined(DUPLICATE)
    atoms[1].name = "one";
#elif defined(NO_EXECUTE)
    atoms[1].execute = NULL;
#elif defined(REVERT_FLAG_WITHOUT_FUNCTION)
    atoms[0].flags = ATOMD_ATOM_REVERT;
#elif defined(BAD_NAME)
    atoms[0].name = "Has Spaces";
#elif defined(BAD_SCHEMA)
    atoms[0].input_schema = "{not json";
#elif defined(RETURNS_NULL)
    return NULL;
#elif defined(NEWER_MINOR)
    plugin.abi_minor = 7;
#endif
    return &plugin;
}
#else
int not_an_atomd_plugin(void) { return 1; }
#endif
