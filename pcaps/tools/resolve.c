/* resolve.c - long-lived, single-threaded getaddrinfo() loop.
 *
 * Used by pcaps/make-traces.sh to produce real glibc stub-resolver traffic.
 * One process, one thread: glibc keeps its per-thread resolver state (_res)
 * for the whole run, so a switch to serial mode (RES_SNGLKUP) after a lost
 * reply stays in force for all later lookups, exactly as in a daemon.
 *
 * usage: resolve [-n COUNT] [-d DELAY_MS] [-f 0|4|6] [-q] NAME...
 *   -n COUNT     number of lookups (default: one per NAME)
 *   -d DELAY_MS  pause between lookups (default 1000)
 *   -f FAMILY    0 = AF_UNSPEC (default, A+AAAA), 4 = AF_INET, 6 = AF_INET6
 *   -q           quiet: no address list
 * Lookup i resolves NAME[i % number_of_names].  One line per lookup on
 * stdout: wall-clock time, index, name, result, elapsed seconds, addresses.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long count = -1, delay_ms = 1000;
    int family = AF_UNSPEC, quiet = 0, opt;

    while ((opt = getopt(argc, argv, "n:d:f:q")) != -1) {
        switch (opt) {
        case 'n': count = strtol(optarg, NULL, 10); break;
        case 'd': delay_ms = strtol(optarg, NULL, 10); break;
        case 'f':
            family = atoi(optarg) == 4 ? AF_INET
                   : atoi(optarg) == 6 ? AF_INET6 : AF_UNSPEC;
            break;
        case 'q': quiet = 1; break;
        default:
            fprintf(stderr, "usage: %s [-n COUNT] [-d DELAY_MS] [-f 0|4|6] [-q] NAME...\n", argv[0]);
            return 2;
        }
    }
    int nnames = argc - optind;
    if (nnames <= 0) {
        fprintf(stderr, "%s: no names given\n", argv[0]);
        return 2;
    }
    if (count < 0)
        count = nnames;
    if (count > 100000 || delay_ms < 0 || delay_ms > 600000) {
        fprintf(stderr, "%s: count or delay out of range\n", argv[0]);
        return 2;
    }

    int failures = 0;
    for (long i = 0; i < count; i++) {
        const char *name = argv[optind + i % nnames];
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = family;
        hints.ai_socktype = SOCK_STREAM;   /* one entry per address */

        double t_real = now_real(), t0 = now_mono();
        int rc = getaddrinfo(name, NULL, &hints, &res);
        double el = now_mono() - t0;

        printf("%.6f lookup=%ld name=%s rc=%d (%s) elapsed=%.3f",
               t_real, i, name, rc, rc ? gai_strerror(rc) : "ok", el);
        if (rc == 0 && !quiet) {
            printf(" addrs=");
            for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                char buf[INET6_ADDRSTRLEN];
                const void *a = ai->ai_family == AF_INET
                    ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                    : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
                inet_ntop(ai->ai_family, a, buf, sizeof buf);
                printf("%s%s", buf, ai->ai_next ? "," : "");
            }
        }
        printf("\n");
        fflush(stdout);
        if (rc == 0)
            freeaddrinfo(res);
        else
            failures++;
        if (i + 1 < count && delay_ms > 0) {
            struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    return failures ? 1 : 0;
}
