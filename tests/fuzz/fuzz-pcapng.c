/*
 * tests/fuzz/fuzz-pcapng.c: a capture FILE through input.c and the pipeline.
 *
 * The input is the whole file, handed over as a memfd so input.c opens it
 * by path exactly as it opens a file on disk. Inputs that start with the
 * pcapng section header exercise our own block reader (input.c); the seeds
 * are pcapng files with several interfaces, resolutions and offsets.
 * Classic pcap inputs go through libpcap and read_pcap(). Damaged files
 * must end in an error or a warning, never a crash or a hang.
 *
 * The issue asks for the pcapng WRITER to be fuzzed too (write, then read
 * back); this target is the reader half of that round trip.
 */
#define _GNU_SOURCE
#include "config.h"
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analysis_opts o;
	struct analysis a;
	char path[64];
	char *paths[1] = { path };
	int fd;

	fd = memfd_create("fuzz-capture", 0);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fuzz_opts(&o);
	analysis_init(&a, &o, paths, 1);
	if (analysis_run(&a) == 0)
		fuzz_reports(&a);
	analysis_release(&a);
	analysis_opts_free(&o);
	close(fd);
	return 0;
}
