#ifndef RESTYLE_IMAGEIO_INTERNAL_H
#define RESTYLE_IMAGEIO_INTERNAL_H

#include <stddef.h>

const char *imageio_png_probe(const unsigned char *data, size_t size,
                              int *width, int *height, char *err);
const char *imageio_png_decode(const unsigned char *data, size_t size,
                               int width, int height, unsigned char *rgb, char *err);
const char *imageio_png_decode_alpha(const unsigned char *data, size_t size, int width, int height,
                                     unsigned char *rgb, unsigned char *alpha, int *has_alpha, char *err);
const char *imageio_jpeg_probe(const unsigned char *data, size_t size,
                               int *width, int *height, char *err);
const char *imageio_jpeg_decode(const unsigned char *data, size_t size,
                                int width, int height, unsigned char *rgb, char *err);

/* Formats into err (always NUL-terminated, cut to IMAGEIO_ERR_LEN) and returns it. */
const char *imageio_fail(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
