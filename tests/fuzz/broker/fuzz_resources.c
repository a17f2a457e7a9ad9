/* Fuzz target: the offline_fs_kbc resources file (broker/resources.c). */
#include "base.h"
#include "broker/resources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coco_resfile *f = NULL;
	if (coco_resfile_parse(NULL, data, size, "fuzz", &f) == 0) {
		coco_buf b = COCO_BUF_INIT;
		coco_resfile_get(f, "default/key/key_id1", &b);
		coco_buf_wipe_free(&b);
		coco_resfile_free(f);
	}
	return 0;
}
