/*
 * Force-included when cap's native addon is compiled for the packages (scripts/package.sh).
 * glibc 2.34 moved dlopen/dlsym into libc.so.6 under a new symbol version, so an addon
 * built on Debian 12 would need glibc >= 2.34 and fail to load on Debian 11 and Ubuntu 20.04
 * (glibc 2.31). The old versions are still exported by every glibc (from libdl.so.2, which
 * the Node.js binary links, before 2.34; from libc.so.6 since), so binding to them keeps the
 * addon's floor at the Node.js runtime's own: glibc 2.28.
 */
#include <features.h> /* defines __GLIBC__: this header is force-included before any other */
#if defined(__linux__) && defined(__x86_64__) && defined(__GLIBC__)
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
#endif
