#include "imageio.h"
#include "internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *err;
} jpeg_failure;

static void fail_exit(j_common_ptr cinfo) {
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    imageio_fail(f->err, "corrupt JPEG (%s)", msg);
    longjmp(f->jump, 1);
}

/* libjpeg only warns when the data runs out (it pads with a fake end marker
 * and returns grey blocks) or when entropy-coded data is damaged, so those
 * warnings are turned into errors here: a half-grey photo is not an input. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return; /* trace output, never printed */
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF) {
        imageio_fail(f->err, "truncated JPEG (file ends early)");
        longjmp(f->jump, 1);
    }
    if (code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE || code == JWRN_ARITH_BAD_CODE ||
        code == JWRN_MUST_RESYNC || code == JWRN_NOT_SEQUENTIAL) {
        char msg[JMSG_LENGTH_MAX];
        cinfo->err->format_message(cinfo, msg);
        imageio_fail(f->err, "corrupt JPEG (%s)", msg);
        longjmp(f->jump, 1);
    }
    /* The rest (extraneous bytes, odd JFIF version, bad ICC marker) leave a
     * correct picture. */
    cinfo->err->num_warnings++;
}

static void never_print(j_common_ptr cinfo) { (void)cinfo; }

static void init_failure(struct jpeg_decompress_struct *cinfo, jpeg_failure *f, char *err) {
    /* jpeg_destroy_decompress must be safe even if creation failed half-way. */
    memset(cinfo, 0, sizeof *cinfo);
    cinfo->err = jpeg_std_error(&f->pub);
    f->pub.error_exit = fail_exit;
    f->pub.emit_message = on_message;
    f->pub.output_message = never_print;
    f->err = err;
}

const char *imageio_jpeg_probe(const unsigned char *data, size_t size,
                               int *width, int *height, char *err) {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure f;
    init_failure(&cinfo, &f, err);
    if (setjmp(f.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return err;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return NULL;
}

/* Adobe applications store CMYK inverted (255 = no ink), and nearly every CMYK
 * JPEG comes from one; without the Adobe marker the values are taken as plain
 * ink amounts. The naive ink formula ignores colour profiles, which is good
 * enough for a style or content picture. */
static void cmyk_to_rgb(const unsigned char *cmyk, unsigned char *rgb, int width, int inverted) {
    for (int x = 0; x < width; x++) {
        unsigned k = inverted ? cmyk[4 * x + 3] : 255u - cmyk[4 * x + 3];
        for (int c = 0; c < 3; c++) {
            unsigned v = inverted ? cmyk[4 * x + c] : 255u - cmyk[4 * x + c];
            rgb[3 * x + c] = (unsigned char)((v * k + 127u) / 255u);
        }
    }
}

/* Each scan of a progressive JPEG is a pass over the whole image, and a scan
 * that codes nothing but an end-of-band run takes a few bytes: a 345 KB file
 * of 16384x3048 held 2000 of them and took 16 s of CPU to decode, and nothing
 * but the file size bounds the count. Encoders write about ten; 500 is the
 * limit libjpeg-turbo's own fuzz targets set (TJPARAM_SCANLIMIT), and costs
 * at most about 5 s at 50 megapixels. Tests/Fuzz/image/timeout-jpeg-600-scans
 * must be refused. */
#define MAX_SCANS 500

static void limit_scans(j_common_ptr cinfo) {
    /* Called at least once per scan while the scans are read. */
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_failure *f = (jpeg_failure *)cinfo->err;
        imageio_fail(f->err, "unsupported JPEG (more than %d scans)", MAX_SCANS);
        longjmp(f->jump, 1);
    }
}

const char *imageio_jpeg_decode(const unsigned char *data, size_t size,
                                int width, int height, unsigned char *rgb, char *err) {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure f;
    struct jpeg_progress_mgr progress = {.progress_monitor = limit_scans};
    init_failure(&cinfo, &f, err);
    unsigned char *volatile row = NULL;
    if (setjmp(f.jump)) {
        free(row);
        jpeg_destroy_decompress(&cinfo);
        return err;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress; /* after create, which clears the struct */
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if ((int)cinfo.image_width != width || (int)cinfo.image_height != height) {
        imageio_fail(err, "corrupt JPEG (size differs from the header read before)");
        longjmp(f.jump, 1);
    }
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;
        break;
    default:
        imageio_fail(err, "unsupported JPEG colour space (%d)", (int)cinfo.jpeg_color_space);
        longjmp(f.jump, 1);
    }
    jpeg_start_decompress(&cinfo);
    int cmyk = cinfo.out_color_space == JCS_CMYK;
    if (cinfo.output_components != (cmyk ? 4 : 3)) {
        imageio_fail(err, "corrupt JPEG (unexpected component count)");
        longjmp(f.jump, 1);
    }
    if (cmyk) {
        row = malloc((size_t)width * 4);
        if (!row) {
            imageio_fail(err, "out of memory");
            longjmp(f.jump, 1);
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *out = rgb + (size_t)cinfo.output_scanline * (size_t)width * 3;
        JSAMPROW target = cmyk ? row : out;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) {
            imageio_fail(err, "truncated JPEG (file ends early)");
            longjmp(f.jump, 1);
        }
        if (cmyk) cmyk_to_rgb(row, out, width, cinfo.saw_Adobe_marker);
    }
    /* Reads to the end marker, so data cut after the last scan is caught. */
    jpeg_finish_decompress(&cinfo);
    free(row);
    jpeg_destroy_decompress(&cinfo);
    return NULL;
}
