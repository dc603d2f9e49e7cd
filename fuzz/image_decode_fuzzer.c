/*
 * libFuzzer target for the image decoders in Sources/CImageIO: the bytes of one
 * untrusted file go through what ImageIO.read and ImageIO.readPNGText do with
 * them (Sources/Core/ImageIO.swift): sniff, probe, refuse oversized images,
 * allocate, decode; then read the PNG text chunks of the same bytes.
 *
 * Besides the sanitizers' findings (ASan, UBSan, leaks), it traps when the
 * C API breaks its own contract: a failure without a one-line message in
 * `err`, a size from probe the caller would act on wrongly, or a text callback
 * with a key libpng should never hand out.
 *
 * Built and run by scripts/fuzz.sh (target "image").
 */

#include "imageio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The same limits as ImageIO.maxSide and ImageIO.maxPixels in
 * Sources/Core/ImageIO.swift; keep them in step. */
#define MAX_SIDE 16384
#define MAX_PIXELS 50000000L

#define CHECK(cond)                 \
    do {                            \
        if (!(cond)) __builtin_trap(); \
    } while (0)

/* A failing call returns `err` holding one non-empty line that fits. */
static void check_failure(const char *ret, const char *err) {
    CHECK(ret == err);
    size_t n = strnlen(err, IMAGEIO_ERR_LEN);
    CHECK(n > 0 && n < IMAGEIO_ERR_LEN);
    CHECK(!memchr(err, '\n', n) && !memchr(err, '\r', n));
}

/* Every byte is read, so ASan sees any key or text that is not all there. */
static volatile unsigned sink;

static void on_text(void *ctx, const char *key, const char *text, size_t text_len, int utf8) {
    unsigned *count = ctx;
    (*count)++;
    CHECK(key && text);
    CHECK(utf8 == 0 || utf8 == 1);
    size_t key_len = strlen(key);
    /* PNG keywords are 1-79 bytes; libpng drops chunks with anything else. */
    CHECK(key_len >= 1 && key_len <= 79);
    unsigned h = 0;
    for (size_t i = 0; i < key_len; i++) h = h * 31 + (unsigned char)key[i];
    for (size_t i = 0; i < text_len; i++) h = h * 31 + (unsigned char)text[i];
    CHECK(text[text_len] == '\0');
    sink += h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[IMAGEIO_ERR_LEN];
    imageio_format format = imageio_sniff(data, size);
    if (format == IMAGEIO_FORMAT_UNKNOWN) {
        /* The Swift reader stops here; the C calls must refuse it too. */
        int w = -1, h = -1;
        err[0] = '\0';
        check_failure(imageio_probe(data, size, &w, &h, err), err);
        return 0;
    }

    int width = 0, height = 0;
    err[0] = '\0';
    const char *failed = imageio_probe(data, size, &width, &height, err);
    if (failed) {
        check_failure(failed, err);
    } else if (width >= 1 && height >= 1 && width <= MAX_SIDE && height <= MAX_SIDE &&
               (long)width * height <= MAX_PIXELS) {
        size_t bytes = (size_t)width * (size_t)height * 3;
        /* Zeroed like Swift's [UInt8](repeating: 0, ...). */
        unsigned char *rgb = calloc(bytes, 1);
        CHECK(rgb);
        err[0] = '\0';
        failed = imageio_decode(data, size, width, height, rgb, err);
        if (failed) {
            check_failure(failed, err);
        } else {
            /* Swift converts every byte; reading them here is what it would do. */
            unsigned h = 0;
            for (size_t i = 0; i < bytes; i += 61) h += rgb[i];
            h += rgb[bytes - 1];
            sink += h;
        }
        free(rgb);
    }

    /* readPNGText reads whatever it is given, without probing first. */
    unsigned count = 0;
    err[0] = '\0';
    failed = imageio_png_read_text(data, size, on_text, &count, err);
    if (failed) check_failure(failed, err);
    return 0;
}
