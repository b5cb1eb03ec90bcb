/* plasma-xga: the plasma demo at 1024x768x32, the display benchmark's full-screen load
 * (bench/DisplayUpdateBench.cpp). The demo's own sources are compiled with this mode instead of
 * plasma/plasma.h's: defining that header's guard first keeps its 640x480 out. */
#ifndef KVMSCOPE_GUEST_PLASMA_XGA_MODE_H
#define KVMSCOPE_GUEST_PLASMA_XGA_MODE_H

#define KVMSCOPE_GUEST_PLASMA_H
#define PLASMA_WIDTH 1024
#define PLASMA_HEIGHT 768
#define PLASMA_BPP 32
#define PLASMA_LFB_ADDRESS 0xE0000000ull /* DISPI_LFB_ADDRESS */

#endif
