#include "imageio.h"
#include "internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

/* Encoding has its own failure hook: libjpeg's default prints and exits. */
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *err;
} jpeg_write_failure;

static void write_fail_exit(j_common_ptr cinfo) {
    jpeg_write_failure *f = (jpeg_write_failure *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    imageio_fail(f->err, "cannot encode JPEG (%s)", msg);
    longjmp(f->jump, 1);
}

static void write_never_print(j_common_ptr cinfo) { (void)cinfo; }

const char *imageio_jpeg_encode(const unsigned char *rgb, int width, int height, int quality,
                                unsigned char **out, size_t *out_size, char *err) {
    *out = NULL;
    *out_size = 0;
    if (width < 1 || height < 1 || width > 65500 || height > 65500)
        return imageio_fail(err, "cannot encode a %dx%d JPEG", width, height);
    if (quality < 1 || quality > 100) return imageio_fail(err, "JPEG quality %d is not 1..100", quality);

    struct jpeg_compress_struct cinfo;
    jpeg_write_failure f;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&f.pub);
    f.pub.error_exit = write_fail_exit;
    f.pub.output_message = write_never_print;
    f.err = err;
    /* volatile: they change between setjmp and a longjmp back to it. */
    unsigned char *volatile buffer = NULL;
    unsigned long volatile length = 0;
    if (setjmp(f.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return err;
    }
    jpeg_create_compress(&cinfo);
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    jpeg_mem_dest(&cinfo, &mem, &mem_len);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        buffer = mem;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    buffer = mem;
    length = mem_len;
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *out_size = (size_t)length;
    return NULL;
}
