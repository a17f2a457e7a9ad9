/* Image operations: the glue between sources, destinations and stages. */
#include "internal.h"
