#ifndef RESTYLE_IMAGEIO_TEST_H
#define RESTYLE_IMAGEIO_TEST_H

/*
 * Test support, linked only into the tests: writers for the variants the decoder must accept, which
 * the engine itself never produces. Errors are one line in `err` (IMAGEIO_TEST_ERR_LEN bytes), as in
 * imageio.h.
 */

#ifdef __cplusplus
extern "C" {
#endif

#define IMAGEIO_TEST_ERR_LEN 256

/* `rows` is the raw sample data as PNG defines it: height rows of
 * ceil(width*channels*bit_depth/8) bytes, 16-bit samples big-endian.
 * color_type is PNG's (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA).
 * `palette` holds n_palette RGB triples; `trns_alpha` n_trns alphas for a
 * palette. For grey and RGB, `trns_color` (1 or 3 samples) if non-NULL marks
 * the transparent colour. */
const char *imageio_test_write_png(const char *path, int width, int height,
                                   int color_type, int bit_depth, int interlaced,
                                   const unsigned char *rows,
                                   const unsigned char *palette, int n_palette,
                                   const unsigned char *trns_alpha, int n_trns,
                                   const unsigned short *trns_color,
                                   char *err);

/* `pixels` is interleaved with `components` samples per pixel: 1 grey, 3 RGB,
 * 4 CMYK as stored (libjpeg writes an Adobe marker for CMYK, and by Adobe's
 * convention the caller passes inverted values, 255 = no ink). */
const char *imageio_test_write_jpeg(const char *path, int width, int height,
                                    int components, int quality, int progressive,
                                    const unsigned char *pixels, char *err);

#ifdef __cplusplus
}
#endif

#endif
