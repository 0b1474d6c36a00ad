/* Compiles the ABI header on its own, so a header that stops being valid C fails the build. */
#include "atomd_plugin.h"
