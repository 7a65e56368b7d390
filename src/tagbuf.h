/*
 * tagbuf.h: transactions a detector may tag once it knows its findings.
 *
 * Some findings are only known after the fact: a second belongs to a
 * rate-limit plateau or a SERVFAIL burst only once the seconds around it
 * have been seen, and by then the transactions of that second are gone (the
 * matcher frees them when the callback returns). So such a detector keeps a
 * small record of each candidate transaction here: its seq, the second it
 * counts in and a detector-chosen key (a server, an interface...), and at
 * finish tags the records that fall inside a finding.
 *
 * Bounded: at most cap records (16 bytes each); later candidates are not
 * kept (counted in dropped), so their transactions stay untagged and the
 * detector says so in its details. Tagging is idempotent, so finish may
 * walk the records again for each snapshot.
 */
#ifndef DNSVET_TAGBUF_H
#define DNSVET_TAGBUF_H

#include "dnsvet.h"

#define TAGBUF_DEFAULT_CAP (1u << 20)

struct tagrec {
	uint64_t seq;
	uint32_t sec; /* epoch second (or bucket) the transaction counts in */
	uint32_t key; /* the detector's own key id */
};

struct tagbuf {
	struct tagrec *v;
	size_t n, alloc, cap;
	uint64_t dropped;
};

void tagbuf_init(struct tagbuf *tb, size_t cap);
void tagbuf_add(struct tagbuf *tb, uint64_t seq, int64_t sec, uint32_t key);
void tagbuf_free(struct tagbuf *tb);

#endif
