#include "sluice_plugin.h"

/* The ABI version this build of the header describes; lets a debugger or `nm` tell which
 * header a binary was compiled against. */
const uint32_t sluice_abi_version_compiled = SLUICE_ABI_VERSION;
