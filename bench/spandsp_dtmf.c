/* Benchmark harness around spandsp's DTMF receiver (dtmf_rx), for bench/dtmf_bench.py.
 *
 * Built on demand into bench/.build/ with:
 *   gcc -O2 -o bench/.build/spandsp_dtmf bench/spandsp_dtmf.c -lspandsp -lm
 *
 *   spandsp_dtmf FRAME REPEAT < audio.raw
 *       reads raw int16 (8 kHz mono, native endian) from stdin, runs a fresh receiver over
 *       it REPEAT times, feeding FRAME samples per dtmf_rx() call (0 = the whole buffer in
 *       one call); prints "digits <string>" from the first pass, then one line each
 *       "onset <digit> <sample>" (the realtime callback, first pass; <sample> is the
 *       start of the dtmf_rx() call that reported it) and finally "cpu_seconds <s>"
 *       (process CPU time of all passes, reading excluded).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <spandsp.h>

static long position = 0;  /* samples handed to dtmf_rx before the current call */
static int report = 1;
static char onsets[65536];
static size_t onsets_len = 0;
static char digits[4096];
static size_t ndigits = 0;

static void on_tone(void *user_data, int code, int level, int delay)
{
    (void) user_data;
    (void) level;
    (void) delay;
    if (!report || code == 0 || onsets_len + 40 >= sizeof(onsets)) return;
    if (ndigits + 1 < sizeof(digits)) digits[ndigits++] = (char) code;
    onsets_len += (size_t) snprintf(onsets + onsets_len, sizeof(onsets) - onsets_len,
                                    "onset %c %ld\n", code, position);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: spandsp_dtmf FRAME REPEAT < audio.raw\n");
        return 2;
    }
    long frame = strtol(argv[1], NULL, 10);
    long repeat = strtol(argv[2], NULL, 10);
    size_t cap = 1 << 20, n = 0;
    int16_t *buf = malloc(cap * sizeof(int16_t));
    size_t got;
    while ((got = fread(buf + n, sizeof(int16_t), cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap * sizeof(int16_t));
        }
    }
    if (frame <= 0) frame = (long) n;
    clock_t t0 = clock();
    for (long r = 0; r < repeat; r++) {
        dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
        dtmf_rx_set_realtime_callback(rx, on_tone, NULL);
        report = (r == 0);
        for (long i = 0; i < (long) n; i += frame) {
            long len = (long) n - i < frame ? (long) n - i : frame;
            position = i;
            dtmf_rx(rx, buf + i, (int) len);
        }
        dtmf_rx_free(rx);
    }
    clock_t t1 = clock();
    digits[ndigits] = '\0';
    printf("digits %s\n", digits);
    fputs(onsets, stdout);
    printf("cpu_seconds %.6f\n", (double) (t1 - t0) / CLOCKS_PER_SEC);
    free(buf);
    return 0;
}
