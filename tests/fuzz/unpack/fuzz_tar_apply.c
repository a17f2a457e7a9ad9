/*
 * Fuzz the tar -> filesystem writer: each input is an uncompressed layer
 * applied into a fresh rootfs inside a private directory that also holds
 * a canary file and directory.  Afterwards nothing but the rootfs may have
 * changed beside it (the canary is compared byte for byte), whatever the
 * layer held.  The first input byte selects the resolver (openat2 or the
 * O_NOFOLLOW walk) and whether a second copy of the layer is applied on
 * top (exercising replacement and whiteouts of lower entries).
 */
#include "base.h"
#include "oci/oci.h"
#include "unpack/unpack.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	const uint8_t *p;
	size_t n, pos;
} src;

static ssize_t pull(void *payload, const unsigned char **data)
{
	src *s = payload;
	size_t k = s->n - s->pos;
	if (k > 4096)
		k = 4096;   /* small chunks: exercise the buffering */
	*data = s->p + s->pos;
	s->pos += k;
	return (ssize_t)k;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode = size ? data[0] : 0;
	if (size) {
		data++;
		size--;
	}
	char base[] = "/tmp/coco-fuzz-XXXXXX";
	if (!mkdtemp(base))
		return 0;
	char root[64], canary[64], cdir[64];
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(canary, sizeof(canary), "%s/canary", base);
	snprintf(cdir, sizeof(cdir), "%s/cdir", base);
	mkdir(root, 0755);
	mkdir(cdir, 0755);
	FILE *f = fopen(canary, "w");
	if (f) {
		fputs("canary\n", f);
		fclose(f);
	}
	cocoimg_ctx *ctx = NULL;
	cocoimg_ctx_new(&ctx);
	coco_applier *ap = NULL;
	unsigned flags = (mode & 1) ? COCO_APPLY_NO_OPENAT2 : 0;
	if (ctx && coco_applier_new(ctx, root, flags, &ap) == 0) {
		int layers = (mode & 2) ? 2 : 1;
		for (int i = 0; i < layers; i++) {
			src s = { data, size, 0 };
			coco_compression c = (mode & 4) ? COCO_COMP_GZIP : COCO_COMP_NONE;
			coco_applier_apply(ap, c, pull, &s, "fuzz layer", NULL, NULL, NULL);
		}
		coco_applier_free(ap);
	}
	cocoimg_ctx_free(ctx);

	/* nothing beside the rootfs changed */
	struct stat st;
	if (count_entries(base) != 3 || count_entries(cdir) != 0 || lstat(canary, &st) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_size != 7 || st.st_nlink != 1)
		abort();
	char buf[16] = { 0 };
	int fd = open(canary, O_RDONLY | O_NOFOLLOW);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 7 || memcmp(buf, "canary\n", 7))
		abort();
	close(fd);
	coco_rm_rf(NULL, base);
	return 0;
}
