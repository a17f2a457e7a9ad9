/* Image operation glue for the trust module. */
#include "internal.h"
