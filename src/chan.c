/*
 * chan.c: see chan.h.
 *
 * Chunks are used in ring order by both sides, so a token byte needs no
 * content: the n-th "full" byte is chunk n % NCHUNK. A write and the read
 * that receives it order the memory accesses around them, so the consumer
 * sees the chunk as the producer wrote it. 32 chunks of 256 KB (8 MB)
 * let either side run ahead of the other by about 17 ms of -j 2 on the
 * bench trace. With 8 (2 MB, 4 ms), the two processes waited for each
 * other whenever the shared machine held one of them back for a few
 * milliseconds: in an hour when it did, 0.4 to 0.65 s of a 2.1 to 2.3 s
 * run, against 0.05 to 0.18 s with 32 (1.69 to 1.77 s wall; 16 rounds);
 * in a quieter one, 0.10 to 0.16 s against 0.05 to 0.09 (1.64 against
 * 1.50 s wall, 4 rounds). 64 chunks were no better than 32 (1.54
 * against 1.51 s, 8 rounds). Each process's peak RSS counts the pages
 * of the ring it touched: 45 MB instead of 39 for -j 2 on the bench
 * trace. Each token can wake the other process, and
 * -j 2 sends about 700 MB of records on the bench trace: with 64 KB chunks
 * that was 11,000 wake-ups, and the two processes used 1.26 s of CPU
 * between them against 1.12 s with 256 KB (no detectors, 4 alternating
 * runs each; 512 KB chunks were no better).
 *
 * The tokens go over one socket pair (full chunks one way, free chunks the
 * other) rather than two pipes, for MSG_NOSIGNAL: the consumer hands back
 * its last chunk while the producer may already have exited, and that must
 * be an ignored EPIPE, not a SIGPIPE.
 */
#include "config.h"
#include "chan.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define NCHUNK 32
#define HDR 8 /* chunk header: bytes used; record header: type, length */
#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

struct chan {
	uint8_t *mem;
	int sv[2]; /* [0] the producer's end, [1] the consumer's */
	/* producer */
	uint32_t pidx;
	size_t pused;
	int credits;
	/* consumer */
	uint32_t cidx;
	size_t cpos, cend;
	int holding;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct chan *chan_new(void)
{
	struct chan *c = xcalloc(1, sizeof(*c));

	c->mem = mmap(NULL, (size_t)NCHUNK * CHUNK, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->mem == MAP_FAILED)
		die("unable to map %d KB of shared memory: %s", NCHUNK * CHUNK / 1024,
		    strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv))
		die("unable to create a socket pair: %s", strerror(errno));
	return c;
}

void chan_producer(struct chan *c)
{
	close_fd(&c->sv[1]);
	c->pidx = 0;
	c->pused = HDR;
	c->credits = NCHUNK - 1; /* chunk 0 is being filled */
}

void chan_consumer(struct chan *c)
{
	close_fd(&c->sv[0]);
}

void chan_close(struct chan *c)
{
	close_fd(&c->sv[0]);
	close_fd(&c->sv[1]);
}

static uint8_t *chunk(struct chan *c, uint32_t idx)
{
	return c->mem + (size_t)(idx % NCHUNK) * CHUNK;
}

/* 0, or -1 if the other side is gone */
static int token_write(int fd)
{
	ssize_t n;

	do
		n = send(fd, "", 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* 1 if a token came, 0 if the other side is gone */
static int token_read(int fd)
{
	char b;
	ssize_t n;

	do
		n = read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

static void send_chunk(struct chan *c)
{
	uint32_t used = (uint32_t)c->pused;

	memcpy(chunk(c, c->pidx), &used, 4);
	if (token_write(c->sv[0]) < 0)
		die("-j: the next stage of the analysis is gone");
	c->pidx++;
	c->pused = HDR;
	if (c->credits)
		c->credits--;
	else if (!token_read(c->sv[0]))
		die("-j: the next stage of the analysis is gone");
}

void *chan_put(struct chan *c, uint32_t type, size_t len)
{
	uint32_t hdr[2] = { type, (uint32_t)len };
	uint8_t *p;

	if (len > CHAN_REC_MAX)
		BUG("record of %zu bytes is too long for a channel", len);
	if (c->pused + HDR + ALIGN8(len) > CHUNK)
		send_chunk(c);
	p = chunk(c, c->pidx) + c->pused;
	memcpy(p, hdr, HDR);
	c->pused += HDR + ALIGN8(len);
	return p + HDR;
}

void chan_finish(struct chan *c)
{
	if (c->pused > HDR) {
		uint32_t used = (uint32_t)c->pused;

		memcpy(chunk(c, c->pidx), &used, 4);
		if (token_write(c->sv[0]) < 0)
			die("-j: the next stage of the analysis is gone");
	}
	close_fd(&c->sv[0]);
}

void *chan_get(struct chan *c, uint32_t *type, size_t *len)
{
	uint32_t hdr[2];
	uint8_t *p;

	if (!c->holding || c->cpos >= c->cend) {
		uint32_t used;

		if (!token_read(c->sv[1]))
			return NULL;
		/* hand the chunk we are done with back; the producer may have
		 * finished already, then nobody needs it */
		if (c->holding) {
			token_write(c->sv[1]);
			c->cidx++;
		}
		c->holding = 1;
		memcpy(&used, chunk(c, c->cidx), 4);
		c->cpos = HDR;
		c->cend = used;
	}
	p = chunk(c, c->cidx) + c->cpos;
	memcpy(hdr, p, HDR);
	*type = hdr[0];
	*len = hdr[1];
	c->cpos += HDR + ALIGN8(hdr[1]);
	return p + HDR;
}

void chan_free(struct chan *c)
{
	if (!c)
		return;
	chan_close(c);
	munmap(c->mem, (size_t)NCHUNK * CHUNK);
	free(c);
}
