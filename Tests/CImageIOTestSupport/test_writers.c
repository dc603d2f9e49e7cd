/* Writers for test fixtures: the tests make every PNG and JPEG variant the
 * decoder must accept on the spot, so no binary fixtures live in the repo. */

#include "imageio_test.h"

#include <stdarg.h>

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

/* Formats into err (NUL-terminated, cut to IMAGEIO_TEST_ERR_LEN) and returns it. */
static const char *imageio_fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *imageio_fail(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, IMAGEIO_TEST_ERR_LEN, fmt, ap);
    va_end(ap);
    return err;
}

static void fixture_png_error(png_structp png, png_const_charp msg) {
    imageio_fail(png_get_error_ptr(png), "cannot write test PNG (%s)", msg);
    png_longjmp(png, 1);
}

static void fixture_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static int png_channels(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 0;
    }
}

const char *imageio_test_write_png(const char *path, int width, int height,
                                   int color_type, int bit_depth, int interlaced,
                                   const unsigned char *rows,
                                   const unsigned char *palette, int n_palette,
                                   const unsigned char *trns_alpha, int n_trns,
                                   const unsigned short *trns_color,
                                   char *err) {
    int channels = png_channels(color_type);
    if (!channels) return imageio_fail(err, "bad colour type %d", color_type);
    FILE *fp = fopen(path, "wb");
    if (!fp) return imageio_fail(err, "cannot open %s: %s", path, strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, fixture_png_error,
                                              fixture_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile row_ptrs = NULL;
    png_colorp volatile colors = NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        fclose(fp);
        return imageio_fail(err, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        free(row_ptrs);
        free(colors);
        png_destroy_write_struct(&png, &info);
        fclose(fp);
        return err;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, color_type,
                 interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        colors = malloc(sizeof(png_color) * (size_t)(n_palette > 0 ? n_palette : 1));
        if (!colors) png_error(png, "out of memory");
        for (int i = 0; i < n_palette; i++) {
            colors[i].red = palette[3 * i];
            colors[i].green = palette[3 * i + 1];
            colors[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, colors, n_palette);
        if (trns_alpha && n_trns > 0)
            png_set_tRNS(png, info, trns_alpha, n_trns, NULL);
    } else if (trns_color) {
        png_color_16 c = {0};
        if (color_type == PNG_COLOR_TYPE_GRAY) {
            c.gray = trns_color[0];
        } else {
            c.red = trns_color[0];
            c.green = trns_color[1];
            c.blue = trns_color[2];
        }
        png_set_tRNS(png, info, NULL, 0, &c);
    }
    png_write_info(png, info);
    size_t rowbytes = ((size_t)width * (size_t)channels * (size_t)bit_depth + 7) / 8;
    row_ptrs = malloc(sizeof(png_bytep) * (size_t)height);
    if (!row_ptrs) png_error(png, "out of memory");
    for (int y = 0; y < height; y++)
        row_ptrs[y] = (png_bytep)rows + (size_t)y * rowbytes;
    png_write_image(png, row_ptrs); /* handles the Adam7 passes */
    png_write_end(png, NULL);
    free(row_ptrs);
    free(colors);
    png_destroy_write_struct(&png, &info);
    if (fclose(fp) != 0) return imageio_fail(err, "cannot close %s: %s", path, strerror(errno));
    return NULL;
}

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *err;
} fixture_jpeg_failure;

static void fixture_jpeg_exit(j_common_ptr cinfo) {
    fixture_jpeg_failure *f = (fixture_jpeg_failure *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    imageio_fail(f->err, "cannot write test JPEG (%s)", msg);
    longjmp(f->jump, 1);
}

static void fixture_jpeg_silent(j_common_ptr cinfo) { (void)cinfo; }

const char *imageio_test_write_jpeg(const char *path, int width, int height,
                                    int components, int quality, int progressive,
                                    const unsigned char *pixels, char *err) {
    J_COLOR_SPACE space;
    switch (components) {
    case 1: space = JCS_GRAYSCALE; break;
    case 3: space = JCS_RGB; break;
    case 4: space = JCS_CMYK; break;
    default: return imageio_fail(err, "bad component count %d", components);
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) return imageio_fail(err, "cannot open %s: %s", path, strerror(errno));
    struct jpeg_compress_struct cinfo;
    fixture_jpeg_failure f;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&f.pub);
    f.pub.error_exit = fixture_jpeg_exit;
    f.pub.output_message = fixture_jpeg_silent;
    f.err = err;
    if (setjmp(f.jump)) {
        jpeg_destroy_compress(&cinfo);
        fclose(fp);
        return err;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, fp);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = space;
    jpeg_set_defaults(&cinfo); /* CMYK input is stored as CMYK with an Adobe marker */
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)components;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(fp) != 0) return imageio_fail(err, "cannot close %s: %s", path, strerror(errno));
    return NULL;
}
