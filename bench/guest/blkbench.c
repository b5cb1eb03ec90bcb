/* blkbench: the in-guest half of kvmscope-bench-blk. Runs inside a Linux guest (a static binary
 * in the benchmark's initramfs) against a block device, with O_DIRECT so that the guest's page
 * cache takes no part and every byte crosses the virtual disk:
 *
 *   blkbench DEVICE seq-read MIB      reads MIB MiB from offset 0 in 1 MiB requests
 *   blkbench DEVICE seq-write MIB     writes MIB MiB from offset 0 in 1 MiB requests, then fdatasync
 *   blkbench DEVICE rand-read COUNT   COUNT 4 KiB reads at pseudo-random 4 KiB-aligned offsets
 *
 * One request at a time (queue depth 1): the same load for every VMM. Prints one line,
 * "blkbench: TEST ... VALUE UNIT", which the host side reads. Exits 1 with a message on any
 * error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define RANDOM_BLOCK 4096

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char* what) {
    fprintf(stderr, "blkbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: blkbench DEVICE seq-read|seq-write|rand-read AMOUNT\n");
        return 2;
    }
    const char* test = argv[2];
    const long amount = strtol(argv[3], NULL, 10);
    const int writing = strcmp(test, "seq-write") == 0;
    const int fd = open(argv[1], (writing ? O_WRONLY : O_RDONLY) | O_DIRECT);
    if (fd < 0)
        die(argv[1]);
    uint64_t device_bytes = 0;
    if (ioctl(fd, BLKGETSIZE64, &device_bytes) != 0)
        die("BLKGETSIZE64");
    void* buffer = NULL;
    if (posix_memalign(&buffer, 4096, MIB) != 0)
        die("posix_memalign");
    memset(buffer, 0x5a, MIB);

    if (strcmp(test, "seq-read") == 0 || writing) {
        if ((uint64_t)amount * MIB > device_bytes) {
            fprintf(stderr, "blkbench: %ld MiB is more than the device's %llu bytes\n", amount,
                    (unsigned long long)device_bytes);
            return 1;
        }
        const double start = now();
        for (long i = 0; i < amount; ++i) {
            const ssize_t done = writing ? pwrite(fd, buffer, MIB, (off_t)i * MIB)
                                         : pread(fd, buffer, MIB, (off_t)i * MIB);
            if (done != MIB)
                die(writing ? "pwrite" : "pread");
        }
        if (writing && fdatasync(fd) != 0)
            die("fdatasync");
        const double seconds = now() - start;
        printf("blkbench: %s %ld MiB in %.3f s: %.1f MiB/s\n", test, amount, seconds,
               (double)amount / seconds);
    } else if (strcmp(test, "rand-read") == 0) {
        const uint64_t blocks = device_bytes / RANDOM_BLOCK;
        uint32_t state = 0x626c6b21u; /* xorshift32, the same offsets every run */
        const double start = now();
        for (long i = 0; i < amount; ++i) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            const off_t offset = (off_t)(state % blocks) * RANDOM_BLOCK;
            if (pread(fd, buffer, RANDOM_BLOCK, offset) != RANDOM_BLOCK)
                die("pread");
        }
        const double seconds = now() - start;
        printf("blkbench: rand-read %ld x 4 KiB in %.3f s: %.0f IOPS\n", amount, seconds,
               (double)amount / seconds);
    } else {
        fprintf(stderr, "blkbench: unknown test %s\n", test);
        return 2;
    }
    fflush(stdout);
    close(fd);
    return 0;
}
