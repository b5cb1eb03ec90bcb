/* plasma-xga, ring 0: plasma/plasma.c with the mode of mode.h. */
#include "mode.h"

#include "../plasma/plasma.c"
