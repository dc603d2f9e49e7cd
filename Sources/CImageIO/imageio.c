#include "imageio.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *imageio_fail(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, IMAGEIO_ERR_LEN, fmt, ap);
    va_end(ap);
    /* Messages from the libraries end up in a one-line report. */
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return err;
}

imageio_format imageio_sniff(const unsigned char *data, size_t size) {
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && memcmp(data, png_sig, 8) == 0)
        return IMAGEIO_FORMAT_PNG;
    /* SOI followed by the start of any marker: enough to tell JPEG from
     * everything else without rejecting files whose first segment is not APP0. */
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return IMAGEIO_FORMAT_JPEG;
    return IMAGEIO_FORMAT_UNKNOWN;
}

const char *imageio_probe(const unsigned char *data, size_t size,
                          int *width, int *height, char *err) {
    switch (imageio_sniff(data, size)) {
    case IMAGEIO_FORMAT_PNG: return imageio_png_probe(data, size, width, height, err);
    case IMAGEIO_FORMAT_JPEG: return imageio_jpeg_probe(data, size, width, height, err);
    default: return imageio_fail(err, "not a PNG or JPEG image");
    }
}

const char *imageio_decode(const unsigned char *data, size_t size,
                           int width, int height, unsigned char *rgb, char *err) {
    switch (imageio_sniff(data, size)) {
    case IMAGEIO_FORMAT_PNG: return imageio_png_decode(data, size, width, height, rgb, err);
    case IMAGEIO_FORMAT_JPEG: return imageio_jpeg_decode(data, size, width, height, rgb, err);
    default: return imageio_fail(err, "not a PNG or JPEG image");
    }
}

const char *imageio_decode_alpha(const unsigned char *data, size_t size, int width, int height,
                                 unsigned char *rgb, unsigned char *alpha, int *has_alpha, char *err) {
    *has_alpha = 0;
    if (imageio_sniff(data, size) == IMAGEIO_FORMAT_PNG)
        return imageio_png_decode_alpha(data, size, width, height, rgb, alpha, has_alpha, err);
    return imageio_decode(data, size, width, height, rgb, err);
}

void imageio_free(void *p) { free(p); }
