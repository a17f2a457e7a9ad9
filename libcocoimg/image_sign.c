/* Image operation glue for the sign module. */
#include "internal.h"
