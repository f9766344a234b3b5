/* Tiny harness around spandsp's ADSI (caller ID) transmitter and receiver.
 *
 * Used by bench/callerid_bench.py (throughput comparison) and by the caller ID tests
 * (an independent transmitter to decode). Built on demand with:
 *   gcc -O2 -o spandsp_cid spandsp_cid.c -lspandsp -lm
 *
 *   spandsp_cid tx STD TYPE [FIELD VALUE]...   raw int16 8 kHz audio on stdout
 *       STD: class | clip | jclip | dtmf ; TYPE and FIELD in hex; VALUE a string
 *       (for dtmf: TYPE is ignored, FIELD is the field letter code in hex, e.g. 41 = 'A')
 *   spandsp_cid rx STD REPEAT                  reads raw int16 from stdin, decodes it
 *       REPEAT times in 160-sample frames; prints each message in hex and the CPU seconds
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <spandsp.h>

static int std_code(const char *name)
{
    if (strcmp(name, "class") == 0) return ADSI_STANDARD_CLASS;
    if (strcmp(name, "clip") == 0) return ADSI_STANDARD_CLIP;
    if (strcmp(name, "jclip") == 0) return ADSI_STANDARD_JCLIP;
    if (strcmp(name, "dtmf") == 0) return ADSI_STANDARD_CLIP_DTMF;
    fprintf(stderr, "unknown standard %s\n", name);
    exit(2);
}

static int messages = 0;
static int quiet = 0;

static void put_msg(void *user_data, const uint8_t *msg, int len)
{
    (void) user_data;
    messages++;
    if (quiet || len <= 0) return;
    printf("msg");
    for (int i = 0; i < len; i++) printf(" %02x", msg[i]);
    printf("\n");
}

static int do_tx(int argc, char **argv)
{
    int std = std_code(argv[2]);
    adsi_tx_state_t *tx = adsi_tx_init(NULL, std);
    uint8_t msg[256];
    int len = adsi_add_field(tx, msg, -1, (uint8_t) strtol(argv[3], NULL, 16), NULL, 0);
    for (int i = 4; i + 1 < argc; i += 2) {
        len = adsi_add_field(tx, msg, len, (uint8_t) strtol(argv[i], NULL, 16),
                             (const uint8_t *) argv[i + 1], (int) strlen(argv[i + 1]));
    }
    if (adsi_tx_put_message(tx, msg, len) <= 0) {
        fprintf(stderr, "message refused\n");
        return 1;
    }
    int16_t buf[160];
    int n;
    while ((n = adsi_tx(tx, buf, 160)) > 0) fwrite(buf, sizeof(int16_t), (size_t) n, stdout);
    adsi_tx_free(tx);
    return 0;
}

static int do_rx(int argc, char **argv)
{
    int std = std_code(argv[2]);
    int repeat = argc > 3 ? atoi(argv[3]) : 1;
    size_t cap = 1 << 16, n = 0;
    int16_t *audio = malloc(cap * sizeof(int16_t));
    size_t got;
    while ((got = fread(audio + n, sizeof(int16_t), cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            audio = realloc(audio, cap * sizeof(int16_t));
        }
    }
    clock_t t0 = clock();
    for (int r = 0; r < repeat; r++) {
        quiet = r > 0;
        adsi_rx_state_t *rx = adsi_rx_init(NULL, std, put_msg, NULL);
        for (size_t i = 0; i < n; i += 160) {
            int len = (int) ((n - i) < 160 ? (n - i) : 160);
            adsi_rx(rx, audio + i, len);
        }
        adsi_rx_free(rx);
    }
    double cpu = (double) (clock() - t0) / CLOCKS_PER_SEC;
    printf("samples %zu repeat %d cpu %.6f messages %d\n", n, repeat, cpu, messages);
    free(audio);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "tx") == 0) return do_tx(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "rx") == 0) return do_rx(argc, argv);
    fprintf(stderr, "usage: spandsp_cid tx STD TYPE [FIELD VALUE]... | rx STD [REPEAT]\n");
    return 2;
}
