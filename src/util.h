/*
 * util.h: small helpers every stage uses.
 *
 * Errors follow git's convention: die() prints "dnsvet: fatal: ..." and exits
 * with status 2 (our "usage or unreadable input" status); error() prints and
 * returns -1; warning() prints and returns; BUG() is for broken invariants.
 * Messages are lower case, without a full stop, with the subject quoted:
 * "unable to open 'x.pcap'".
 */
#ifndef DNSVET_UTIL_H
#define DNSVET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PRINTF(f, a)
#define NORETURN
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

/* Exit statuses shared by all commands (dnsvet(1) documents them). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	/* check: a rule failed */
	EXIT_USAGE = 2, /* bad usage, or an input that is not a capture */
};

NORETURN void die(const char *fmt, ...) PRINTF(1, 2);
int error(const char *fmt, ...) PRINTF(1, 2);
void warning(const char *fmt, ...) PRINTF(1, 2);
NORETURN void BUG_fl(const char *file, int line, const char *fmt, ...) PRINTF(3, 4);
#define BUG(...) BUG_fl(__FILE__, __LINE__, __VA_ARGS__)

/* Allocation that dies on out-of-memory: the only fatal runtime condition. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Zeroed memory for a big table touched at random (on huge pages where
 * the system allows); free it with free_big() and the same size. */
void *xcalloc_big(size_t bytes);
/* Zeroed memory whose pages become resident only as they are touched (no
 * huge pages); also freed with free_big(). */
void *xcalloc_lazy(size_t bytes);
void free_big(void *p, size_t bytes);

/* Growable byte buffer (strbuf-like). buf is always NUL-terminated. */
struct sbuf {
	char *buf;
	size_t len, alloc;
};
#define SBUF_INIT { NULL, 0, 0 }
void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *data, size_t n);
void sbuf_addstr(struct sbuf *sb, const char *s);
void sbuf_addch(struct sbuf *sb, int c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) PRINTF(2, 3);
void sbuf_reset(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);

/*
 * Escape arbitrary bytes for a terminal or a text report: printable ASCII
 * stays, backslash becomes "\\", everything else "\xHH". Nothing that reaches
 * a terminal can be a control sequence.
 */
void sbuf_add_escaped(struct sbuf *sb, const void *data, size_t n);

/* Append s as a JSON string literal (with quotes); bytes >= 0x80 are
 * emitted as \u00XX so the output is valid JSON whatever the input. */
void sbuf_add_json_str(struct sbuf *sb, const char *s);
void sbuf_add_json_strn(struct sbuf *sb, const void *s, size_t n);

/* Word-wrap text to width columns, each line starting with indent;
 * newlines in text start a new line; a word longer than a line is cut. */
void sbuf_add_wrapped(struct sbuf *sb, const char *indent, const char *text, int width);

/* Timestamps are int64 nanoseconds since the epoch everywhere. */
typedef int64_t ts_t;
#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define NS_PER_US INT64_C(1000)

/* "2024-01-02 03:04:05.123456" in UTC (TZ ignored: reports are comparable). */
void fmt_time(char *buf, size_t n, ts_t t);
/* Seconds since the epoch with microseconds, "1476976981.075993", for JSON;
 * right for times before 1970 too ("-0.250000"), which damaged files have. */
void fmt_secs(char *buf, size_t n, ts_t t);
/* Latency or duration in a human unit: "812us", "12.4ms", "5.003s". */
void fmt_dur(char *buf, size_t n, ts_t d);

/* Parse "10", "10s", "250ms", "1.5s", "300us" into ns; -1 on error. */
ts_t parse_duration(const char *s);
/* Parse a size "100", "10k", "10M", "1G" (tcpdump's -C is in MB) */
int64_t parse_size(const char *s, int64_t unit);

static inline uint64_t hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/*
 * 64-bit hash of a byte string for hash tables, eight bytes per step (a
 * multiply and a shift each, then hash_mix); a tail of 1 to 7 bytes is read
 * with two overlapping loads (as wyhash does) rather than byte by byte. On
 * the 20- to 40-byte names and 5-byte address keys of the hot path this is
 * a fifth of the instructions of byte-wise FNV-1a. Nothing may depend on
 * its values beyond one run: no output order does (kmap keeps insertion
 * order).
 */
static inline uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ ((uint64_t)n * UINT64_C(0x9e3779b97f4a7c15)), w;
	uint32_t a, b;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * UINT64_C(0xbf58476d1ce4e5b9);
		h ^= h >> 31;
	}
	if (n >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		w = (uint64_t)a << 32 | b;
	} else if (n) {
		w = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
	} else {
		return hash_mix(h);
	}
	return hash_mix((h ^ w) * UINT64_C(0xbf58476d1ce4e5b9));
}

/* Is stderr a terminal and should we draw progress? */
int progress_wanted(void);

#endif
