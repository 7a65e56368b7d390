/*
 * capture-rotate.h: the savefiles of dnsvet capture: rotation by time
 * (aligned to wall-clock multiples), by size, a ring of at most COUNT files,
 * each written under a temporary name and renamed when complete.
 *
 * Invariants (dnsvet-capture(1) documents them for users):
 *  - a file under its final name is complete: it was flushed, fsync'ed and
 *    renamed from ".NAME.partial" in the same directory;
 *  - a file holds whole records only: a failed write is cut back to the
 *    last complete record, and a file without a complete header is removed;
 *  - every packet handed to rotate_write() is either written or counted in
 *    not_written;
 *  - an existing file is never overwritten: a name already taken gets a
 *    "_NNNNNN" sequence suffix (before the extension), which keeps the
 *    names of one run in order when sorted.
 */
#ifndef DNSVET_CAPTURE_ROTATE_H
#define DNSVET_CAPTURE_ROTATE_H

#include <sys/types.h>
#include "dnsvet.h"

enum savefile_format { SAVEFILE_PCAP, SAVEFILE_PCAPNG };

struct rotate_iface {
	const char *name;
	int linktype; /* LINKTYPE_* */
	uint32_t snaplen;
};

struct rotate_opts {
	const char *pattern; /* -w: strftime(3) pattern of the file names */
	int64_t seconds;     /* -G: a new file at each multiple of this; 0 = no */
	int64_t size;	     /* -C: bytes a file may hold; 0 = no limit */
	int count;	     /* -W: keep at most this many files; 0 = all */
	mode_t mode;	     /* of the files, umask ignored (default 0600) */
	int format;	     /* enum savefile_format */
	/* interfaces, numbered as rotate_write()'s ifid; classic pcap takes
	 * the link type and snaplen of the first */
	const struct rotate_iface *ifaces;
	int nifaces;
};

struct rotate_stats {
	uint64_t written;     /* packets in files (completed or current) */
	uint64_t not_written; /* packets lost to write errors */
	uint64_t files;	      /* files completed (renamed) */
	uint64_t removed;     /* files removed by the ring */
	uint64_t bytes;	      /* bytes in files */
};

struct rotator;

/* Check the options and the output directory; no file is created yet.
 * Returns NULL after printing an error. now: wall clock. */
struct rotator *rotate_new(const struct rotate_opts *o, ts_t now);
/* Create the first file (after privileges are dropped). 0 or -1 (error
 * printed). */
int rotate_start(struct rotator *r, ts_t now);
/* Write one packet captured on interface ifid, rotating first when its
 * time or the size limit says so. 0 if written (or buffered), -1 if it
 * could not be (counted; the rotator has stopped: rotate_failed()). */
int rotate_write(struct rotator *r, int ifid, const struct pkt *p);
/* Wall-clock tick (call a few times a second): rotates at a time boundary
 * when no packet did, and flushes the buffer now and then. 0 or -1. */
int rotate_tick(struct rotator *r, ts_t now);
/* Close the current file and start the next one at once (SIGHUP). */
int rotate_now(struct rotator *r, ts_t now);
/* Non-zero once a write error stopped the rotator: the current file was
 * closed with what could be written, later packets are not written. */
int rotate_failed(const struct rotator *r);
/* Where the next packet goes: index (run-wide, from 0) and final name of
 * the current file, and how many packets it holds so far. */
uint64_t rotate_file_index(const struct rotator *r);
const char *rotate_file_name(const struct rotator *r);
uint64_t rotate_file_packets(const struct rotator *r);
void rotate_get_stats(const struct rotator *r, struct rotate_stats *st);
/* Flush, fsync, rename the current file, store the final totals in st
 * (may be NULL) and free everything. 0, or -1 if the last file could not
 * be completed (error printed). */
int rotate_close(struct rotator *r, struct rotate_stats *st);

#endif
