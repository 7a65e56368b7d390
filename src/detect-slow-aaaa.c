/*
 * detect-slow-aaaa.c: SKELETON, being written (issue 3). Produces no findings yet.
 */
#include "config.h"
#include "detect.h"

static const struct detector_param params[] = {
	{ NULL, 0, NULL },
};

const struct detector detector_slow_aaaa = {
	.name = "slow-aaaa",
	.summary = "not implemented yet",
	.params = params,
};
