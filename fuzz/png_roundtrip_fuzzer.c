/*
 * libFuzzer target for the PNG writer: an image and text pairs built from the
 * input go through imageio_png_encode, then back through imageio_probe,
 * imageio_decode and imageio_png_read_text, which must return exactly what was
 * written (PNG is lossless, and keys and values are stored byte for byte).
 *
 * Input layout, all optional (missing bytes read as 0):
 *   byte 0      width - 1  (mod 32)
 *   byte 1      height - 1 (mod 32)
 *   byte 2      number of text pairs (mod 5)
 *   per pair    key length (mod 90), key bytes, value length, value bytes
 *   the rest    pixels, RGB, repeated to fill the image
 * A NUL in a key or value becomes 0x01 (C strings cannot hold one).
 *
 * Built and run by scripts/fuzz.sh (target "png-roundtrip").
 */

#include "imageio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                    \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

#define MAX_PAIRS 4

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} reader;

static uint8_t next_byte(reader *r) { return r->pos < r->size ? r->data[r->pos++] : 0; }

static char *next_string(reader *r, size_t len) {
    char *s = malloc(len + 1);
    CHECK(s);
    for (size_t i = 0; i < len; i++) {
        uint8_t b = next_byte(r);
        s[i] = (char)(b ? b : 1);
    }
    s[len] = '\0';
    return s;
}

/* The PNG specification's keyword rule, written independently of png_io.c's
 * valid_key so the two can disagree: 1-79 Latin-1 printable characters, no
 * leading, trailing or consecutive spaces. */
static int spec_keyword(const char *k) {
    size_t n = strlen(k);
    if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 32 || (c > 126 && c < 161)) return 0;
        if (i > 0 && c == ' ' && k[i - 1] == ' ') return 0;
    }
    return 1;
}

static int has_high_byte(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 128) return 1;
    return 0;
}

typedef struct {
    const char *const *keys, *const *values;
    int count, seen;
} expected_text;

static void on_text(void *ctx, const char *key, const char *text, size_t text_len, int utf8) {
    expected_text *e = ctx;
    CHECK(e->seen < e->count);
    int i = e->seen++;
    CHECK(strcmp(key, e->keys[i]) == 0);
    CHECK(text_len == strlen(e->values[i]) && memcmp(text, e->values[i], text_len) == 0);
    /* iTXt exactly when the value is not plain ASCII. */
    CHECK(utf8 == has_high_byte(e->values[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r = {data, size, 0};
    int width = next_byte(&r) % 32 + 1;
    int height = next_byte(&r) % 32 + 1;
    int count = next_byte(&r) % (MAX_PAIRS + 1);
    char *keys[MAX_PAIRS], *values[MAX_PAIRS];
    int all_valid = 1;
    for (int i = 0; i < count; i++) {
        keys[i] = next_string(&r, next_byte(&r) % 90);
        values[i] = next_string(&r, next_byte(&r));
        all_valid &= spec_keyword(keys[i]);
    }
    size_t bytes = (size_t)width * (size_t)height * 3;
    unsigned char *rgb = calloc(bytes, 1);
    CHECK(rgb);
    size_t left = size - r.pos;
    for (size_t i = 0; left > 0 && i < bytes; i++) rgb[i] = data[r.pos + i % left];

    char err[IMAGEIO_ERR_LEN] = "";
    unsigned char *png = NULL;
    size_t png_size = 0;
    const char *failed = imageio_png_encode(rgb, width, height, (const char *const *)keys,
                                            (const char *const *)values, count, &png,
                                            &png_size, err);
    /* The writer refuses exactly the keys the specification forbids. */
    CHECK((failed == NULL) == all_valid);
    if (failed) {
        CHECK(failed == err && err[0] && !png && png_size == 0);
    } else {
        CHECK(png && png_size > 8);
        CHECK(imageio_sniff(png, png_size) == IMAGEIO_FORMAT_PNG);
        int w = 0, h = 0;
        CHECK(!imageio_probe(png, png_size, &w, &h, err));
        CHECK(w == width && h == height);
        unsigned char *back = malloc(bytes);
        CHECK(back);
        CHECK(!imageio_decode(png, png_size, w, h, back, err));
        CHECK(memcmp(back, rgb, bytes) == 0);
        free(back);
        expected_text e = {(const char *const *)keys, (const char *const *)values, count, 0};
        CHECK(!imageio_png_read_text(png, png_size, on_text, &e, err));
        CHECK(e.seen == count);
    }
    imageio_free(png);
    free(rgb);
    for (int i = 0; i < count; i++) {
        free(keys[i]);
        free(values[i]);
    }
    return 0;
}
