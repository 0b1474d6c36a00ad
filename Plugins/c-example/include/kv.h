/* The kv plugin exports only atomd_plugin_entry_v1 (atomd_plugin.h). */
#include <atomd_plugin.h>
