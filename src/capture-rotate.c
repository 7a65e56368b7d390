/*
 * capture-rotate.c: rotating savefiles; the invariants are in
 * capture-rotate.h.
 *
 * Records are built in a memory buffer (pcapng-write.c) and written with
 * write(2) in large chunks, never through stdio: a failed write must be
 * cut back to a record boundary, and only our own buffer knows where the
 * boundaries are (the file offset before a chunk always is one). When a
 * write fails for lack of space and the files form a ring (-W), the oldest
 * file is removed and the chunk written again, once; if that fails too, or
 * there is no ring, the current file is cut back, completed and renamed,
 * and the rotator stops: the capture ends with every file readable and the
 * packets that could not be written counted.
 *
 * Time rotation is aligned to multiples of -G in local time (-G 60: on the
 * minute; -G 3600: on the hour), like the names strftime makes. A packet
 * whose timestamp has reached the next boundary opens the next file; so
 * does the wall-clock tick a little after the boundary, so a quiet period
 * still gets its (empty) file and a ring of one-minute files always covers
 * the last COUNT minutes.
 */
#include "config.h"
#include "capture-rotate.h"
#include "pcapng-write.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_BYTES (256 * 1024)	  /* write in chunks of this size */
#define FLUSH_EVERY (NS_PER_SEC)	  /* and at least this often */
#define TICK_GRACE (NS_PER_SEC / 2)	  /* late packets of the last interval */
#define NAME_MAX_TRIES 1000

struct rotator {
	struct rotate_opts o;
	struct rotate_iface *ifaces;
	struct rotate_stats st;

	/* the current file */
	int fd;		     /* -1: none open */
	char *path, *tmp;    /* final and temporary names */
	uint64_t index;	     /* files opened so far in this run, minus one */
	uint64_t last_suffix;
	off_t off;	     /* bytes in the file (a record boundary) */
	uint64_t pkts;	     /* packets in the file, buffered ones included */
	uint64_t buf_pkts;   /* packets in buf */
	struct sbuf buf;
	ts_t interval, next; /* -G: start of this interval, start of the next */
	ts_t last_flush;
	char *prev_path;     /* the previous file's final name */
	char *last_expand;   /* the pattern's expansion for the previous file */

	/* completed files kept by the ring (-W), oldest first */
	char **ring;
	int nring, ring_head;

	int failed;
	int opened_once;
};

/* ---- names ---------------------------------------------------------------- */

static ts_t interval_start(ts_t t, int64_t secs)
{
	time_t s = (time_t)(t / NS_PER_SEC);
	struct tm tm;
	int64_t local, m;

	localtime_r(&s, &tm);
	local = (int64_t)s + tm.tm_gmtoff;
	m = local % secs;
	if (m < 0)
		m += secs;
	return (ts_t)(local - m - tm.tm_gmtoff) * NS_PER_SEC;
}

/* strftime(pattern) at t; NULL if it expands to nothing or too much */
static char *expand(const char *pattern, ts_t t)
{
	char buf[PATH_MAX];
	time_t s = (time_t)(t / NS_PER_SEC);
	struct tm tm;
	size_t n;

	localtime_r(&s, &tm);
	n = strftime(buf, sizeof(buf), pattern, &tm);
	if (n == 0 || n >= sizeof(buf) - 32)
		return NULL;
	return xstrdup(buf);
}

/* "dir/name.pcap" + 7 -> "dir/name_000007.pcap" */
static char *with_suffix(const char *name, uint64_t k)
{
	const char *base = strrchr(name, '/');
	const char *dot;
	struct sbuf sb = SBUF_INIT;
	size_t cut;

	base = base ? base + 1 : name;
	dot = strrchr(base, '.');
	/* only a short extension of letters and digits counts as one */
	if (dot && dot > base && strlen(dot + 1) >= 1 && strlen(dot + 1) <= 8 &&
	    strspn(dot + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
		    strlen(dot + 1))
		cut = (size_t)(dot - name);
	else
		cut = strlen(name);
	sbuf_add(&sb, name, cut);
	sbuf_addf(&sb, "_%06" PRIu64, k);
	sbuf_addstr(&sb, name + cut);
	return sb.buf;
}

static char *temp_name(const char *path)
{
	const char *base = strrchr(path, '/');
	struct sbuf sb = SBUF_INIT;

	base = base ? base + 1 : path;
	sbuf_add(&sb, path, (size_t)(base - path));
	sbuf_addf(&sb, ".%s.partial", base);
	return sb.buf;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The final name of the next file: the pattern at t, with a sequence
 * suffix if that name is taken (by this run or by an existing file). */
static char *next_name(struct rotator *r, ts_t t)
{
	char *name = expand(r->o.pattern, t), *s;
	uint64_t k;
	int tries, again;

	if (!name)
		return NULL;
	/* the same expansion as the previous file (-C, SIGHUP, a pattern
	 * without a time): numbered, even if the ring has removed the
	 * unnumbered one since, so that the names keep sorting in order */
	again = r->last_expand && !strcmp(name, r->last_expand);
	free(r->last_expand);
	r->last_expand = xstrdup(name);
	if (!again && !exists(name))
		return name;
	k = MAX(r->index, r->last_suffix + 1);
	for (tries = 0; tries < NAME_MAX_TRIES; tries++, k++) {
		s = with_suffix(name, k);
		if (!exists(s)) {
			r->last_suffix = k;
			free(name);
			return s;
		}
		free(s);
	}
	free(name);
	return NULL;
}

/* ---- the ring -------------------------------------------------------------- */

static void ring_push(struct rotator *r, const char *path)
{
	if (!r->o.count)
		return;
	if (r->nring == r->o.count) { /* cannot happen: trimmed on open */
		free(r->ring[r->ring_head]);
		r->ring_head = (r->ring_head + 1) % r->o.count;
		r->nring--;
	}
	r->ring[(r->ring_head + r->nring) % r->o.count] = xstrdup(path);
	r->nring++;
}

/* Remove the oldest completed file; 0 if there was none. */
static int ring_remove_oldest(struct rotator *r)
{
	char *p;

	if (!r->nring)
		return 0;
	p = r->ring[r->ring_head];
	r->ring[r->ring_head] = NULL;
	r->ring_head = (r->ring_head + 1) % r->o.count;
	r->nring--;
	/* a consumer may have moved it away already: that is fine */
	if (unlink(p) < 0 && errno != ENOENT)
		warning("unable to remove '%s' (oldest file of the ring): %s", p,
			strerror(errno));
	else
		r->st.removed++;
	free(p);
	return 1;
}

/* ---- writing ---------------------------------------------------------------- */

static int is_space_error(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EFBIG;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Put the file back to its last record boundary after a failed write. */
static void cut_back(struct rotator *r)
{
	int e = errno;

	if (ftruncate(r->fd, r->off) < 0 || lseek(r->fd, r->off, SEEK_SET) < 0)
		warning("unable to cut '%s' back to %jd bytes: %s", r->tmp, (intmax_t)r->off,
			strerror(errno));
	errno = e;
}

static void stop(struct rotator *r, const char *what, const char *path, int e)
{
	error("unable to %s '%s': %s; stopping the capture (%" PRIu64
	      " packets not written, the files so far are complete)",
	      what, path, strerror(e), r->buf_pkts);
	r->st.not_written += r->buf_pkts;
	r->pkts -= r->buf_pkts;
	r->buf_pkts = 0;
	sbuf_reset(&r->buf);
	r->failed = 1;
}

static int flush(struct rotator *r, ts_t now)
{
	int e;

	r->last_flush = now;
	if (r->fd < 0 || !r->buf.len)
		return 0;
	if (write_all(r->fd, r->buf.buf, r->buf.len) < 0) {
		e = errno;
		cut_back(r);
		if (!(is_space_error(e) && r->o.count && r->nring)) {
			stop(r, "write", r->tmp, e);
			return -1;
		}
		warning("'%s': %s; removing the oldest file of the ring and trying again",
			r->tmp, strerror(e));
		ring_remove_oldest(r);
		if (write_all(r->fd, r->buf.buf, r->buf.len) < 0) {
			e = errno;
			cut_back(r);
			stop(r, "write", r->tmp, e);
			return -1;
		}
	}
	r->off += (off_t)r->buf.len;
	r->st.bytes += r->buf.len;
	r->st.written += r->buf_pkts;
	r->buf_pkts = 0;
	sbuf_reset(&r->buf);
	return 0;
}

static void fsync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrdup(path) : xstrdup(".");
	int fd;

	if (slash)
		dir[slash - path ? slash - path : 1] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* best effort: the rename is already visible */
		close(fd);
	}
	free(dir);
}

/* Flush, fsync and rename the current file (even after a failure: what
 * it holds is whole records). 0, or -1 if it could not be completed. */
static int close_file(struct rotator *r, ts_t now)
{
	int rc = 0;

	if (r->fd < 0)
		return 0;
	if (!r->failed && flush(r, now) < 0)
		rc = -1;
	if (fsync(r->fd) < 0 && errno != EINVAL) {
		warning("unable to sync '%s' to disk: %s", r->tmp, strerror(errno));
		rc = -1;
	}
	close(r->fd);
	r->fd = -1;
	if (r->off == 0) {
		/* not even the file header could be written: nothing readable */
		unlink(r->tmp);
		warning("'%s' removed: not even its header could be written", r->tmp);
		rc = -1;
	} else if (rename(r->tmp, r->path) < 0) {
		warning("unable to rename '%s' to '%s': %s; the file is complete under "
			"its temporary name", r->tmp, r->path, strerror(errno));
		rc = -1;
	} else {
		fsync_dir(r->path);
		r->st.files++;
		ring_push(r, r->path);
	}
	free(r->prev_path);
	r->prev_path = r->path;
	r->path = NULL;
	free(r->tmp);
	r->tmp = NULL;
	return rc;
}

static int create_file(struct rotator *r)
{
	int fd, e;

	fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, r->o.mode);
	if (fd < 0 && errno == EEXIST) {
		/* left over by a run that was killed: it was never complete */
		unlink(r->tmp);
		fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  r->o.mode);
	}
	if (fd < 0)
		return -1;
	if (fchmod(fd, r->o.mode) < 0) { /* exactly the mode asked, whatever the umask */
		e = errno;
		close(fd);
		unlink(r->tmp);
		errno = e;
		return -1;
	}
	return fd;
}

static void put_header(struct rotator *r)
{
	int i;

	if (r->o.format == SAVEFILE_PCAPNG) {
		pcapng_put_shb(&r->buf, "dnsvet " PACKAGE_VERSION " capture");
		for (i = 0; i < r->o.nifaces; i++)
			pcapng_put_idb(&r->buf, r->ifaces[i].linktype, r->ifaces[i].snaplen,
				       r->ifaces[i].name);
	} else {
		pcapfile_put_header(&r->buf, r->ifaces[0].linktype, r->ifaces[0].snaplen);
	}
}

/* Open the next file, for time t (the interval it starts). */
static int open_file(struct rotator *r, ts_t t)
{
	int e;

	if (r->failed)
		return -1;
	if (r->o.seconds) {
		r->interval = interval_start(t, r->o.seconds);
		r->next = r->interval + r->o.seconds * NS_PER_SEC;
	}
	/* the ring holds at most COUNT files, the one being written included */
	while (r->o.count && r->nring > r->o.count - 1)
		ring_remove_oldest(r);
	if (r->opened_once)
		r->index++;
	r->opened_once = 1;
	r->path = next_name(r, r->o.seconds ? r->interval : t);
	if (!r->path) {
		error("'%s' gives no usable file name (empty, too long, or every "
		      "numbered variant taken); stopping the capture", r->o.pattern);
		r->failed = 1;
		return -1;
	}
	r->tmp = temp_name(r->path);
	r->fd = create_file(r);
	if (r->fd < 0 && is_space_error(errno) && r->o.count && ring_remove_oldest(r))
		r->fd = create_file(r);
	if (r->fd < 0) {
		e = errno;
		error("unable to create '%s': %s%s; stopping the capture", r->tmp, strerror(e),
		      e == EACCES ? " (the directory must be writable by the user the "
				    "capture runs as; see -Z)" : "");
		free(r->prev_path);
		r->prev_path = r->path;
		r->path = NULL;
		free(r->tmp);
		r->tmp = NULL;
		r->failed = 1;
		return -1;
	}
	r->off = 0;
	r->pkts = 0;
	put_header(r);
	return 0;
}

static int rotate_to(struct rotator *r, ts_t t, ts_t now)
{
	close_file(r, now);
	return open_file(r, t);
}

/* ---- the API ---------------------------------------------------------------- */

struct rotator *rotate_new(const struct rotate_opts *o, ts_t now)
{
	struct rotator *r;
	char *name, *slash;
	struct stat st;
	int i;

	if (!o->pattern || !*o->pattern) {
		error("no output file name given (-w PATTERN)");
		return NULL;
	}
	if (o->nifaces < 1 || (o->format == SAVEFILE_PCAP && o->nifaces != 1))
		BUG("rotate_new: %d interfaces for format %d", o->nifaces, o->format);
	name = expand(o->pattern, o->seconds ? interval_start(now, o->seconds) : now);
	if (!name) {
		error("'%s' gives no usable file name (empty or too long)", o->pattern);
		return NULL;
	}
	slash = strrchr(name, '/');
	if (slash) {
		if (slash == name)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(name, &st) < 0 || !S_ISDIR(st.st_mode)) {
			error("the output directory '%s' %s", name,
			      stat(name, &st) < 0 ? "does not exist" : "is not a directory");
			free(name);
			return NULL;
		}
	}
	free(name);
	r = xcalloc(1, sizeof(*r));
	r->o = *o;
	r->o.pattern = xstrdup(o->pattern);
	r->ifaces = xcalloc((size_t)o->nifaces, sizeof(*r->ifaces));
	for (i = 0; i < o->nifaces; i++) {
		r->ifaces[i] = o->ifaces[i];
		r->ifaces[i].name = xstrdup(o->ifaces[i].name ? o->ifaces[i].name : "");
	}
	r->o.ifaces = r->ifaces;
	if (o->count)
		r->ring = xcalloc((size_t)o->count, sizeof(*r->ring));
	r->fd = -1;
	sbuf_grow(&r->buf, FLUSH_BYTES + 65536);
	return r;
}

int rotate_start(struct rotator *r, ts_t now)
{
	r->last_flush = now;
	if (open_file(r, now) < 0)
		return -1;
	/* write the header at once: a full disk or a read-only directory shows
	 * up before the first packet, not minutes later */
	return flush(r, now);
}

int rotate_write(struct rotator *r, int ifid, const struct pkt *p)
{
	size_t reclen;

	if (r->failed || r->fd < 0) {
		r->st.not_written++;
		return -1;
	}
	if (r->o.seconds && p->ts >= r->next) {
		if (rotate_to(r, p->ts, p->ts) < 0)
			goto lost;
	}
	reclen = r->o.format == SAVEFILE_PCAPNG ? 32 + ((p->caplen + 3U) & ~3U)
						 : PCAPFILE_REC_HDR_LEN + p->caplen;
	if (r->o.size && r->pkts > 0 &&
	    (int64_t)r->off + (int64_t)r->buf.len + (int64_t)reclen > r->o.size) {
		if (rotate_to(r, p->ts, p->ts) < 0)
			goto lost;
	}
	if (r->o.format == SAVEFILE_PCAPNG)
		pcapng_put_epb(&r->buf, (uint32_t)ifid, p->ts, p->data, p->caplen, p->len);
	else
		pcapfile_put_record(&r->buf, p->ts, p->data, p->caplen, p->len);
	r->pkts++;
	r->buf_pkts++;
	if (r->buf.len >= FLUSH_BYTES && flush(r, r->last_flush) < 0)
		return -1;
	return 0;
lost:
	r->st.not_written++;
	return -1;
}

int rotate_tick(struct rotator *r, ts_t now)
{
	if (r->failed)
		return -1;
	if (r->o.seconds && now >= r->next + TICK_GRACE)
		return rotate_to(r, now, now);
	if (now - r->last_flush >= FLUSH_EVERY)
		return flush(r, now);
	return 0;
}

int rotate_now(struct rotator *r, ts_t now)
{
	if (r->failed)
		return -1;
	return rotate_to(r, now, now);
}

int rotate_failed(const struct rotator *r)
{
	return r->failed;
}

uint64_t rotate_file_index(const struct rotator *r)
{
	return r->index;
}

const char *rotate_file_name(const struct rotator *r)
{
	return r->path ? r->path : r->prev_path ? r->prev_path : "";
}

uint64_t rotate_file_packets(const struct rotator *r)
{
	return r->pkts;
}

void rotate_get_stats(const struct rotator *r, struct rotate_stats *st)
{
	*st = r->st;
	/* buffered packets are on their way into the current file */
	st->written += r->buf_pkts;
}

int rotate_close(struct rotator *r, struct rotate_stats *st)
{
	struct timespec ts;
	int rc, i;

	clock_gettime(CLOCK_REALTIME, &ts);
	rc = close_file(r, (ts_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec);
	if (st)
		*st = r->st;
	for (i = 0; i < r->nring; i++)
		free(r->ring[(r->ring_head + i) % r->o.count]);
	free(r->ring);
	for (i = 0; i < r->o.nifaces; i++)
		free((char *)r->ifaces[i].name);
	free(r->ifaces);
	free((char *)r->o.pattern);
	free(r->prev_path);
	free(r->last_expand);
	sbuf_release(&r->buf);
	free(r);
	return rc;
}
