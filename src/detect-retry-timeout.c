/*
 * detect-retry-timeout.c: SKELETON, being written (issue 3). Produces no findings yet.
 */
#include "config.h"
#include "detect.h"

static const struct detector_param params[] = {
	{ NULL, 0, NULL },
};

const struct detector detector_retry_timeout = {
	.name = "retry-timeout",
	.summary = "not implemented yet",
	.params = params,
};
