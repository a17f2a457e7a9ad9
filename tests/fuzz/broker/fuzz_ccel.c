/* Fuzz target: trimming a CC event log (broker/ccel.c).  Whatever is
 * accepted ends inside the input, and the trimmed log trims to itself. */
#include "base.h"
#include "broker/ccel.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t end = 0;
	if (coco_ccel_trim(NULL, data, size, &end) == 0) {
		size_t again = 0;
		if (end > size || coco_ccel_trim(NULL, data, end, &again) || again != end)
			abort();
	}
	return 0;
}
