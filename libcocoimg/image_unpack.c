/* Image operation glue for the unpack module. */
#include "internal.h"
