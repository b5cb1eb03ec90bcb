/* plasma: the mode the ring-0 part sets and the ring-3 part draws in. */
#ifndef KVMSCOPE_GUEST_PLASMA_H
#define KVMSCOPE_GUEST_PLASMA_H

#define PLASMA_WIDTH 640
#define PLASMA_HEIGHT 480
#define PLASMA_BPP 32
#define PLASMA_LFB_ADDRESS 0xE0000000ull /* DISPI_LFB_ADDRESS */

#endif
