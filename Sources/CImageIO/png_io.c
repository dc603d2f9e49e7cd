#include "imageio.h"
#include "internal.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

/* --- reading from memory ------------------------------------------------ */

typedef struct {
    const unsigned char *data;
    size_t size, pos;
    int truncated;
    char *err;
} png_source;

static void source_read(png_structp png, png_bytep out, size_t n) {
    png_source *s = png_get_io_ptr(png);
    if (n > s->size - s->pos) {
        s->truncated = 1;
        png_error(png, "truncated");
    }
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
    /* libpng allocates and zeroes a buffer of a chunk's declared length (up
     * to 2 GB) before reading the chunk, and its own size limit is only a
     * benign error, which reading treats as a warning: a 41-byte file that
     * declares a 2 GB tEXt cost 2 GB before failing as truncated. The whole
     * file is in memory, so a chunk whose data and CRC run past its end is
     * refused here, as truncated, before libpng sees the length. (Found by
     * fuzz/image_decode_fuzzer.c; Tests/Fuzz/image/oom-png-2gb-text-chunk.) */
    if ((png_get_io_state(png) & PNG_IO_MASK_LOC) == PNG_IO_CHUNK_HDR && n == 8) {
        png_uint_32 length = png_get_uint_32(out);
        if (length > s->size - s->pos || s->size - s->pos - length < 4) {
            s->truncated = 1;
            png_error(png, "truncated");
        }
    }
}

static void read_error(png_structp png, png_const_charp msg) {
    png_source *s = png_get_error_ptr(png);
    if (s->truncated)
        imageio_fail(s->err, "truncated PNG (file ends early)");
    else
        imageio_fail(s->err, "corrupt PNG (%s)", msg);
    png_longjmp(png, 1);
}

/* Warnings are about things libpng recovered from; the caller has no one to
 * show them to, and printing would break the TUI. */
static void ignore_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static png_structp reader(png_source *s, png_infop *info) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, read_error, ignore_warning);
    if (!png) return NULL;
    *info = png_create_info_struct(png);
    if (!*info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return NULL;
    }
    png_set_read_fn(png, s, source_read);
    /* libpng's own default limit (1e6 per side) would report oversized images
     * as corrupt; the caller enforces the real limit with a clearer message. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    /* Damage to ancillary chunks (text, colour profile) is not worth refusing
     * the picture for. */
    png_set_benign_errors(png, 1);
    return png;
}

const char *imageio_png_probe(const unsigned char *data, size_t size,
                              int *width, int *height, char *err) {
    png_source s = {data, size, 0, 0, err};
    png_infop info = NULL;
    png_structp png = reader(&s, &info);
    if (!png) return imageio_fail(err, "out of memory");
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return err;
    }
    png_read_info(png, info);
    *width = (int)png_get_image_width(png, info);
    *height = (int)png_get_image_height(png, info);
    png_destroy_read_struct(&png, &info, NULL);
    return NULL;
}

/* Straight (non-premultiplied) alpha over white, in the stored encoding: the
 * same result a browser shows on a white page. */
static void over_white(const unsigned char *rgba, unsigned char *rgb, size_t pixels) {
    for (size_t i = 0; i < pixels; i++) {
        unsigned a = rgba[4 * i + 3];
        for (int c = 0; c < 3; c++)
            rgb[3 * i + c] = (unsigned char)((rgba[4 * i + c] * a + 255u * (255u - a) + 127u) / 255u);
    }
}

/* Colour as stored into rgb, alpha into its own plane. */
static void split_alpha(const unsigned char *rgba, unsigned char *rgb, unsigned char *alpha, size_t pixels) {
    for (size_t i = 0; i < pixels; i++) {
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = rgba[4 * i + c];
        alpha[i] = rgba[4 * i + 3];
    }
}

const char *imageio_png_decode(const unsigned char *data, size_t size,
                               int width, int height, unsigned char *rgb, char *err) {
    return imageio_png_decode_alpha(data, size, width, height, rgb, NULL, NULL, err);
}

const char *imageio_png_decode_alpha(const unsigned char *data, size_t size, int width, int height,
                                     unsigned char *rgb, unsigned char *alpha, int *has_alpha, char *err) {
    if (has_alpha) *has_alpha = 0;
    png_source s = {data, size, 0, 0, err};
    png_infop info = NULL;
    png_structp png = reader(&s, &info);
    if (!png) return imageio_fail(err, "out of memory");
    /* Owned across the longjmp, hence volatile. */
    unsigned char *volatile scratch = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(scratch);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return err;
    }
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if ((int)w != width || (int)h != height)
        png_error(png, "size differs from the header read before");

    /* Every variant becomes 8-bit RGB or RGBA. */
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_scale_16(png); /* rounds; png_set_strip_16 would truncate */
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    if ((channels != 3 && channels != 4) || png_get_bit_depth(png, info) != 8)
        png_error(png, "unexpected pixel layout after conversion");
    size_t w3 = (size_t)width * 3, w4 = (size_t)width * 4;

    if (passes == 1) {
        /* Row by row: an RGBA image needs only one row of scratch. */
        if (channels == 4) scratch = malloc(w4);
        if (channels == 4 && !scratch) png_error(png, "out of memory");
        for (int y = 0; y < height; y++) {
            unsigned char *out = rgb + (size_t)y * w3;
            png_read_row(png, channels == 4 ? scratch : out, NULL);
            if (channels == 4 && alpha) split_alpha(scratch, out, alpha + (size_t)y * (size_t)width, (size_t)width);
            else if (channels == 4) over_white(scratch, out, (size_t)width);
        }
    } else {
        /* Interlaced passes revisit every row, so the whole image is held. */
        if (channels == 4) scratch = malloc(w4 * (size_t)height);
        rows = malloc(sizeof(png_bytep) * (size_t)height);
        if (!rows || (channels == 4 && !scratch)) png_error(png, "out of memory");
        for (int y = 0; y < height; y++)
            rows[y] = channels == 4 ? scratch + (size_t)y * w4 : rgb + (size_t)y * w3;
        png_read_image(png, rows);
        if (channels == 4 && alpha) split_alpha(scratch, rgb, alpha, (size_t)width * (size_t)height);
        else if (channels == 4) over_white(scratch, rgb, (size_t)width * (size_t)height);
    }
    /* Reads through IEND, so a file cut after the pixel data is still caught. */
    png_read_end(png, NULL);
    if (has_alpha) *has_alpha = channels == 4;

    free(scratch);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return NULL;
}

const char *imageio_png_read_text(const unsigned char *data, size_t size,
                                  imageio_text_fn fn, void *ctx, char *err) {
    if (imageio_sniff(data, size) != IMAGEIO_FORMAT_PNG)
        return imageio_fail(err, "not a PNG image");
    png_source s = {data, size, 0, 0, err};
    png_infop info = NULL;
    png_structp png = reader(&s, &info);
    if (!png) return imageio_fail(err, "out of memory");
    /* No caller checks the size before this reads rows, so libpng's own limit
     * (a million pixels per side) is put back: without it a 45-byte file
     * declaring a width of 1.6 billion had libpng allocate and zero 4.8 GB of
     * row buffers. (Found by fuzz/image_decode_fuzzer.c;
     * Tests/Fuzz/image/oom-png-text-width-2g.) */
    png_set_user_limits(png, PNG_USER_WIDTH_MAX, PNG_USER_HEIGHT_MAX);
    unsigned char *volatile row = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(row);
        png_destroy_read_struct(&png, &info, NULL);
        return err;
    }
    png_read_info(png, info);
    /* Text may follow the image data, and libpng cannot jump over IDAT without
     * inflating it (png_read_end straight after png_read_info misreads the
     * stream), so the rows are decoded into one reused row and thrown away. */
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    row = malloc(png_get_rowbytes(png, info));
    if (!row) png_error(png, "out of memory");
    png_uint_32 height = png_get_image_height(png, info);
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < height; y++)
            png_read_row(png, row, NULL);
    free(row);
    row = NULL;
    /* Collects the text chunks after the image into the same info. */
    png_read_end(png, info);
    png_textp text = NULL;
    int n = png_get_text(png, info, &text, NULL);
    for (int i = 0; i < n; i++) {
        const char *t = text[i].text ? text[i].text : "";
        int utf8 = text[i].compression >= PNG_ITXT_COMPRESSION_NONE;
        fn(ctx, text[i].key, t, strlen(t), utf8);
    }
    png_destroy_read_struct(&png, &info, NULL);
    return NULL;
}

/* --- writing to memory -------------------------------------------------- */

typedef struct {
    unsigned char *buf;
    size_t size, cap;
    char *err;
} png_sink;

static void sink_write(png_structp png, png_bytep in, size_t n) {
    png_sink *s = png_get_io_ptr(png);
    if (n > s->cap - s->size) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap - s->size < n) cap *= 2;
        unsigned char *grown = realloc(s->buf, cap);
        if (!grown) png_error(png, "out of memory");
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->size, in, n);
    s->size += n;
}

static void sink_flush(png_structp png) { (void)png; }

static void write_error(png_structp png, png_const_charp msg) {
    png_sink *s = png_get_error_ptr(png);
    imageio_fail(s->err, "cannot encode PNG (%s)", msg);
    png_longjmp(png, 1);
}

/* PNG keywords: 1-79 printable Latin-1 characters, no leading, trailing or
 * doubled spaces. libpng would quietly rewrite a bad key; a silently changed
 * key is worse than an error. */
static int valid_key(const char *key) {
    size_t n = strlen(key);
    if (n < 1 || n > 79 || key[0] == ' ' || key[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!((c >= 32 && c <= 126) || c >= 161)) return 0;
        if (c == ' ' && key[i + 1] == ' ') return 0;
    }
    return 1;
}

static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 128) return 0;
    return 1;
}

const char *imageio_png_encode(const unsigned char *rgb, int width, int height,
                               const char *const *keys, const char *const *values,
                               int count, unsigned char **out, size_t *out_size,
                               char *err) {
    return imageio_png_encode_ex(rgb, width, height, 3, 8, keys, values, count, out, out_size, err);
}

const char *imageio_png_encode_ex(const unsigned char *samples, int width, int height, int channels, int depth,
                                  const char *const *keys, const char *const *values,
                                  int count, unsigned char **out, size_t *out_size, char *err) {
    *out = NULL;
    if ((channels != 3 && channels != 4) || (depth != 8 && depth != 16))
        return imageio_fail(err, "cannot encode PNG (%d channels of %d bits)", channels, depth);
    *out_size = 0;
    if (width < 1 || height < 1)
        return imageio_fail(err, "cannot encode PNG (image has no pixels)");
    for (int i = 0; i < count; i++)
        if (!valid_key(keys[i]))
            return imageio_fail(err, "cannot encode PNG (invalid text key \"%.80s\")", keys[i]);

    png_sink s = {NULL, 0, 0, err};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, write_error, ignore_warning);
    if (!png) return imageio_fail(err, "out of memory");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return imageio_fail(err, "out of memory");
    }
    png_textp volatile text = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(s.buf);
        free(text);
        png_destroy_write_struct(&png, &info);
        return err;
    }
    png_set_write_fn(png, &s, sink_write, sink_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, depth,
                 channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (count > 0) {
        text = calloc((size_t)count, sizeof(png_text));
        if (!text) png_error(png, "out of memory");
        for (int i = 0; i < count; i++) {
            text[i].key = (png_charp)keys[i];
            text[i].text = (png_charp)values[i];
            /* tEXt is Latin-1, so anything beyond ASCII goes in an iTXt
             * chunk, which is UTF-8. */
            text[i].compression = is_ascii(values[i]) ? PNG_TEXT_COMPRESSION_NONE
                                                      : PNG_ITXT_COMPRESSION_NONE;
        }
        /* Copied by libpng; written before the image data, so a reader can
         * stop early. */
        png_set_text(png, info, text, count);
    }
    png_write_info(png, info);
    for (int y = 0; y < height; y++)
        png_write_row(png, samples + (size_t)y * (size_t)width * (size_t)channels * (size_t)(depth / 8));
    png_write_end(png, NULL);

    free(text);
    png_destroy_write_struct(&png, &info);
    *out = s.buf;
    *out_size = s.size;
    return NULL;
}
