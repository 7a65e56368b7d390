/*
 * detect-rate-limit.c: SKELETON, being written (issue 3). Produces no findings yet.
 */
#include "config.h"
#include "detect.h"

static const struct detector_param params[] = {
	{ NULL, 0, NULL },
};

const struct detector detector_rate_limit = {
	.name = "rate-limit",
	.summary = "not implemented yet",
	.params = params,
};
