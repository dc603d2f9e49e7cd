/*
 * libFuzzer target for the image decoders in Sources/CImageIO: the bytes of one
 * untrusted file go through what ImageIO.read and ImageIO.readPNGText do with
 * them (Sources/Core/ImageIO.swift): sniff, probe, refuse oversized images,
 * allocate, decode; then read the PNG text chunks of the same bytes.
 *
 * Besides the sanitizers' findings (ASan, UBSan, leaks), it traps when the
 * C API breaks its own contract: a failure without a one-line message in
 * `err`, or a text callback whose text is not NUL-terminated at text_len.
 *
 * A custom mutator repairs PNG chunk CRCs after each mutation: otherwise
 * nearly every change to a critical chunk (IHDR, PLTE, IDAT) dies on its
 * CRC, and the decoders behind it are barely reached. Inputs found this way
 * are real PNGs that restyle would read as they are.
 *
 * Built and run by scripts/fuzz.sh (target "image").
 */

#include "imageio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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
    const char *end = memchr(err, '\0', IMAGEIO_ERR_LEN);
    CHECK(end && end > err);
    size_t n = (size_t)(end - err);
    CHECK(!memchr(err, '\n', n) && !memchr(err, '\r', n));
}

/* Every byte is read, so ASan sees any key or text that is not all there. */
static volatile unsigned sink;

static void on_text(void *ctx, const char *key, const char *text, size_t text_len, int utf8) {
    unsigned *count = ctx;
    (*count)++;
    CHECK(key && text);
    CHECK(utf8 == 0 || utf8 == 1);
    /* No length check: libpng passes tEXt keywords through as stored, so one
     * may be empty or longer than the 79 bytes PNG allows. */
    size_t key_len = strlen(key);
    unsigned h = 0;
    for (size_t i = 0; i < key_len; i++) h = h * 31 + (unsigned char)key[i];
    for (size_t i = 0; i < text_len; i++) h = h * 31 + (unsigned char)text[i];
    CHECK(text[text_len] == '\0');
    sink += h;
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Rewrites the CRC of every whole chunk of a PNG; stops at a length that
 * runs past the end (that damage is left for the decoder to find). */
static void fix_png_crcs(uint8_t *data, size_t size) {
    size_t pos = 8;
    while (size - pos >= 12) {
        uint32_t len = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
                       (uint32_t)data[pos + 2] << 8 | data[pos + 3];
        if (len > size - pos - 12) break;
        uLong crc = crc32(crc32(0, NULL, 0), data + pos + 4, len + 4);
        uint8_t *c = data + pos + 8 + len;
        c[0] = (uint8_t)(crc >> 24);
        c[1] = (uint8_t)(crc >> 16);
        c[2] = (uint8_t)(crc >> 8);
        c[3] = (uint8_t)crc;
        pos += 12 + (size_t)len;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed) {
    size = LLVMFuzzerMutate(data, size, max_size);
    /* One mutation in eight keeps whatever CRCs it made, so the CRC error
     * paths stay covered too. */
    if (seed % 8 != 0 && imageio_sniff(data, size) == IMAGEIO_FORMAT_PNG)
        fix_png_crcs(data, size);
    return size;
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
