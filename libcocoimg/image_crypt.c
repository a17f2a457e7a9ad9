/* Image operation glue for the crypt module. */
#include "internal.h"
