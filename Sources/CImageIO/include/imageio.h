#ifndef RESTYLE_IMAGEIO_H
#define RESTYLE_IMAGEIO_H

/*
 * PNG and JPEG in and out of memory, for Swift.
 *
 * libpng and libjpeg report fatal errors by longjmp, which would skip Swift
 * frames and leak or corrupt them; every function here owns its setjmp, never
 * exits and never prints. A function that can fail returns NULL on success and
 * on failure returns `err`, a caller-owned buffer of IMAGEIO_ERR_LEN bytes,
 * holding one line without the file name ("truncated PNG", ...).
 *
 * Pixels cross this boundary as interleaved 8-bit RGB, row-major, no padding.
 * This header deliberately includes neither png.h nor jpeglib.h, so Swift sees
 * only this small surface.
 */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMAGEIO_ERR_LEN 256

typedef enum {
    IMAGEIO_FORMAT_UNKNOWN = 0,
    IMAGEIO_FORMAT_PNG = 1,
    IMAGEIO_FORMAT_JPEG = 2,
} imageio_format;

/* Format from the first bytes; the file name's extension is never trusted. */
imageio_format imageio_sniff(const unsigned char *data, size_t size);

/* Reads only the header, so a caller can refuse absurd dimensions before any
 * pixel memory exists. */
const char *imageio_probe(const unsigned char *data, size_t size,
                          int *width, int *height, char *err);

/* Decodes into `rgb`, which holds width*height*3 bytes; width and height must
 * be the ones imageio_probe reported (checked again here). Alpha is composited
 * over white, grey and palette become RGB, 16-bit is rounded to 8-bit. */
const char *imageio_decode(const unsigned char *data, size_t size,
                           int width, int height, unsigned char *rgb, char *err);

/* As imageio_decode, but a PNG's alpha is not composited: `rgb` gets the colour
 * as stored and `alpha` (width*height bytes) the alpha, and *has_alpha says
 * whether there was any (else `alpha` is left as it was). JPEG has no alpha. */
const char *imageio_decode_alpha(const unsigned char *data, size_t size, int width, int height,
                                 unsigned char *rgb, unsigned char *alpha, int *has_alpha, char *err);

/* As imageio_png_encode, for 3 (RGB) or 4 (RGBA) channels of 8 or 16 bits;
 * 16-bit samples are big-endian (PNG's order), two bytes each. */
const char *imageio_png_encode_ex(const unsigned char *samples, int width, int height, int channels, int depth,
                                  const char *const *keys, const char *const *values,
                                  int count, unsigned char **out, size_t *out_size, char *err);

/* Encodes RGB as an 8-bit PNG into a malloc'd buffer the caller releases with
 * imageio_free. Each key/value pair becomes a tEXt chunk, or an iTXt chunk when
 * the value is not plain ASCII (values are UTF-8, tEXt is Latin-1). Keys must
 * be 1...79 printable Latin-1 characters. */
const char *imageio_png_encode(const unsigned char *rgb, int width, int height,
                               const char *const *keys, const char *const *values,
                               int count, unsigned char **out, size_t *out_size,
                               char *err);

/* Encodes RGB as a baseline JPEG of the given quality (1..100) into a
 * malloc'd buffer the caller releases with imageio_free. */
const char *imageio_jpeg_encode(const unsigned char *rgb, int width, int height, int quality,
                                unsigned char **out, size_t *out_size, char *err);

void imageio_free(void *p);

/* Called once per text chunk (tEXt, zTXt or iTXt), in file order. `utf8` is 1
 * for iTXt, whose text is UTF-8, and 0 for tEXt/zTXt, whose text is Latin-1.
 * Keys come as stored: libpng does not check a tEXt keyword, so one may be
 * empty or longer than the 79 bytes PNG allows. */
typedef void (*imageio_text_fn)(void *ctx, const char *key, const char *text,
                                size_t text_len, int utf8);

/* Reports every text chunk of a PNG, before and after the image data. The
 * rows are decoded on the way, so images over a million pixels per side
 * (libpng's default limit) are refused. */
const char *imageio_png_read_text(const unsigned char *data, size_t size,
                                  imageio_text_fn fn, void *ctx, char *err);

#ifdef __cplusplus
}
#endif

#endif
