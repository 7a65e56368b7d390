/*
 * input.h: read capture files (pcap through libpcap, pcapng through a small
 * block reader of our own) as one continuous stream of struct pkt.
 *
 * Several files given in order are one stream: a rotated series reads as if
 * it had never been cut. "-" is standard input. Interfaces are named in a
 * run-wide table so a pcapng interface, an SLL2 ifindex or a live device all
 * end up as a small integer in pkt.ifindex.
 */
#ifndef DNSVET_INPUT_H
#define DNSVET_INPUT_H

#include "dnsvet.h"

/* LINKTYPE_* values we decode (pcap-linktype(7)); libpcap's DLT_ values
 * are mapped to these when reading classic pcap. */
enum {
	LT_NULL = 0, LT_ETHERNET = 1, LT_PPP = 9, LT_RAW = 101,
	LT_PPP_HDLC = 50, LT_LOOP = 108, LT_LINUX_SLL = 113,
	LT_IPV4 = 228, LT_IPV6 = 229, LT_LINUX_SLL2 = 276,
};

typedef void (*pkt_fn)(void *ctx, struct pkt *p);

struct input_stats {
	uint64_t packets;  /* records read */
	uint64_t bytes;
	ts_t first_ts, last_ts;
	uint32_t truncated_files; /* files that ended mid-record */
	uint32_t unsupported_link; /* packets of a link type we cannot decode */
};

struct input {
	char **paths;
	char **names; /* shown in messages instead of paths (NULL: the paths);
		       * tx reads standard input from a spool file, named "-" */
	int npaths;
	struct input_stats st;
	volatile int *stop; /* set asynchronously to stop early (signals) */
	int progress;	    /* draw progress on stderr */
	int quiet;	    /* no warnings (a second pass over the same files) */
};

/*
 * Check that every path can be opened and starts like a capture file.
 * Returns 0, or -1 after printing an error naming the file. Standard
 * input and pipes (input_is_pipe) are checked when they are read: what
 * is read from them cannot be read again.
 */
int input_check(struct input *in);
/* "-", or a path that is not a regular file or a directory: a named pipe,
 * /dev/fd/N from <(...), a character device. */
int input_is_pipe(const char *path);
/* 0, or -1 after an error if "-" is among the n paths more than once. */
int input_stdin_once(char *const *paths, int n);

/*
 * Read every file in order, calling fn for each packet. A truncated or
 * damaged file gives a warning that says where it stopped and the next file
 * is read. Returns 0, or -1 if a file could not be opened at all.
 */
int input_run(struct input *in, pkt_fn fn, void *ctx);

/* The run-wide interface table. */
int32_t iface_intern(const char *name);
const char *iface_name(int32_t id); /* NULL for -1 or unknown */
int iface_count(void);

/* The path of file index i in the current run ("-" for stdin). */
const char *input_file_name(int i);
void input_register_file(int i, const char *path);

int linktype_from_dlt(int dlt);

#endif
