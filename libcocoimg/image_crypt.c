/* Image operation glue for the crypt module.  The hooks declared in
 * internal.h are implemented in crypt/transform.c and crypt/hooks.c (see
 * there); the public keyring API is in crypt/keys.c. */
#include "internal.h"
