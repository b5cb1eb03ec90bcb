/* plasma-xga, ring 3: plasma/user.c with the mode of mode.h. The name ends in "user.c", which is
 * what longmode/longmode.ld puts in the user-accessible page. */
#include "mode.h"

#include "../plasma/user.c"
