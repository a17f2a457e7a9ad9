/* Runs a libFuzzer entry point over every file of a corpus directory (and
 * over a few synthetic inputs), so fuzz targets double as regression tests
 * without libFuzzer. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (n < 0)
		n = 0;
	uint8_t *buf = malloc((size_t)n + 1);
	size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
	fclose(f);
	if (buf) {
		LLVMFuzzerTestOneInput(buf, got);
		/* also every prefix-truncation at a few points */
		for (size_t cut = got / 2; cut > 0 && cut < got; cut = cut * 3 / 4 == cut ? 0 : cut * 3 / 4)
			LLVMFuzzerTestOneInput(buf, cut);
	}
	free(buf);
	return 1;
}

int main(int argc, char **argv)
{
	int files = 0;
	static const uint8_t empty[1] = { 0 };
	LLVMFuzzerTestOneInput(empty, 0);
	LLVMFuzzerTestOneInput((const uint8_t *)"{}", 2);
	LLVMFuzzerTestOneInput((const uint8_t *)"\xff\xff\xff\xff", 4);
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			files += run_file(argv[i]);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
			files += run_file(p);
		}
		closedir(d);
	}
	printf("replayed %d corpus files\n", files);
	return 0;
}
