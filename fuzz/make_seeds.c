/*
 * Writes the seed corpus for a fuzz target into a directory, so no binary
 * seeds live in the repository:
 *
 *   make_seeds image DIR          every PNG and JPEG variant the decoder accepts
 *   make_seeds png-roundtrip DIR  inputs in png_roundtrip_fuzzer.c's layout
 *
 * PNG and JPEG seeds come from the test writers in Tests/CImageIOTestSupport
 * (test_writers.c) and the engine's own imageio_png_encode; the few variants
 * neither makes (zTXt, compressed iTXt, text after IDAT, arithmetic coding,
 * restart markers, CMYK without an Adobe marker, YCCK) are made here. Images
 * are small, so seeds stay a few hundred bytes and mutations stay cheap.
 * Run by scripts/fuzz.sh.
 */

#include "imageio.h"
#include "imageio_test.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <zlib.h>

static const char *dir;
static int written;

static void die(const char *what, const char *why) {
    fprintf(stderr, "make_seeds: %s: %s\n", what, why);
    exit(1);
}

static char *path_of(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void write_file(const char *name, const unsigned char *data, size_t size) {
    FILE *fp = fopen(path_of(name), "wb");
    if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        die(name, strerror(errno));
    written++;
}

/* Deterministic busy content: gradients plus a little hash noise, so the
 * compressors have something to do and every byte value turns up. */
static unsigned char *pattern(size_t n, unsigned seed) {
    unsigned char *p = malloc(n ? n : 1);
    if (!p) die("pattern", "out of memory");
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)((i * 7 + seed * 13) ^ (x & 0x1f));
    }
    return p;
}

/* --- PNG --------------------------------------------------------------- */

static void png_seed(const char *name, int w, int h, int color, int depth, int interlaced,
                     int with_trns) {
    int channels = color == 0 ? 1 : color == 2 ? 3 : color == 3 ? 1 : color == 4 ? 2 : 4;
    size_t rowbytes = ((size_t)w * (size_t)channels * (size_t)depth + 7) / 8;
    unsigned char *rows = pattern(rowbytes * (size_t)h, (unsigned)(color * 16 + depth));
    int n_palette = color == 3 ? 1 << depth : 0;
    if (n_palette > 256) n_palette = 256;
    unsigned char *palette = pattern((size_t)n_palette * 3, 99);
    unsigned char *alpha = pattern((size_t)n_palette, 7);
    /* Fewer alphas than palette entries: the rest are opaque. */
    int n_trns = with_trns && color == 3 ? (n_palette + 1) / 2 : 0;
    unsigned short trns_color[3] = {(unsigned short)(depth == 16 ? 0x1234 : 1), 2, 3};
    char err[IMAGEIO_ERR_LEN];
    if (imageio_test_write_png(path_of(name), w, h, color, depth, interlaced, rows, palette,
                               n_palette, n_trns ? alpha : NULL, n_trns,
                               with_trns && color != 3 ? trns_color : NULL, err))
        die(name, err);
    written++;
    free(rows);
    free(palette);
    free(alpha);
}

static void put32(unsigned char *p, unsigned long v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Inserts a chunk before the first chunk named `before` in a PNG. */
static unsigned char *insert_chunk(unsigned char *png, size_t *size, const char *before,
                                   const char *type, const unsigned char *body, size_t len) {
    size_t pos = 8;
    while (pos + 8 <= *size && memcmp(png + pos + 4, before, 4) != 0) {
        unsigned long n = (unsigned long)png[pos] << 24 | png[pos + 1] << 16 |
                          png[pos + 2] << 8 | png[pos + 3];
        pos += 12 + n;
    }
    if (pos + 8 > *size) die(type, "no such chunk to insert before");
    unsigned char *out = malloc(*size + len + 12);
    if (!out) die(type, "out of memory");
    memcpy(out, png, pos);
    unsigned char *c = out + pos;
    put32(c, (unsigned long)len);
    memcpy(c + 4, type, 4);
    memcpy(c + 8, body, len);
    put32(c + 8 + len, crc32(crc32(0, NULL, 0), c + 4, (uInt)(len + 4)));
    memcpy(c + 12 + len, png + pos, *size - pos);
    *size += len + 12;
    free(png);
    return out;
}

/* keyword NUL [prefix] zlib(text), for zTXt and compressed iTXt. */
static size_t compressed_body(unsigned char *body, size_t cap, const char *key,
                              const unsigned char *prefix, size_t prefix_len, const char *text) {
    size_t k = strlen(key) + 1;
    memcpy(body, key, k);
    memcpy(body + k, prefix, prefix_len);
    uLongf n = (uLongf)(cap - k - prefix_len);
    if (compress(body + k + prefix_len, &n, (const Bytef *)text, (uLong)strlen(text)) != Z_OK)
        die(key, "compress failed");
    return k + prefix_len + n;
}

static void png_text_seeds(void) {
    char err[IMAGEIO_ERR_LEN];
    unsigned char *rgb = pattern(5 * 4 * 3, 5);
    unsigned char *png = NULL;
    size_t size = 0;

    /* What restyle itself writes: tEXt for ASCII values, iTXt for the rest. */
    const char *keys[] = {"Software", "restyle:settings", "Comment"};
    const char *values[] = {"restyle", "{\"alpha\":1,\"beta\":10}", "caf\xc3\xa9 \xe2\x98\x95"};
    if (imageio_png_encode(rgb, 5, 4, keys, values, 3, &png, &size, err)) die("text.png", err);
    write_file("png-text-itxt.png", png, size);
    imageio_free(png);

    /* The chunks only other writers make, before and after the image data. */
    if (imageio_png_encode(rgb, 5, 4, NULL, NULL, 0, &png, &size, err)) die("plain.png", err);
    unsigned char *buf = malloc(size);
    memcpy(buf, png, size);
    imageio_free(png);
    unsigned char body[512];
    size_t n = compressed_body(body, sizeof body, "Title", (const unsigned char *)"\0", 1,
                               "compressed Latin-1 text \xe9\xe8");
    buf = insert_chunk(buf, &size, "IDAT", "zTXt", body, n);
    static const unsigned char itxt_prefix[] = {1, 0, 'f', 'r', 0, 'T', 'i', 't', 'r', 'e', 0};
    n = compressed_body(body, sizeof body, "Title", itxt_prefix, sizeof itxt_prefix,
                        "texte compress\xc3\xa9");
    buf = insert_chunk(buf, &size, "IEND", "iTXt", body, n);
    static const char after[] = "Author\0written after IDAT";
    buf = insert_chunk(buf, &size, "IEND", "tEXt", (const unsigned char *)after, sizeof after - 1);
    write_file("png-text-ztxt-after-idat.png", buf, size);
    free(buf);
    free(rgb);
}

static void png_seeds(void) {
    static const int grey_depths[] = {1, 2, 4, 8, 16};
    char name[64];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "png-grey%d.png", grey_depths[i]);
        png_seed(name, 7, 5, 0, grey_depths[i], 0, 0);
    }
    for (int d = 1; d <= 8; d *= 2) {
        snprintf(name, sizeof name, "png-palette%d-trns.png", d);
        png_seed(name, 7, 5, 3, d, 0, 1);
    }
    png_seed("png-palette8.png", 7, 5, 3, 8, 0, 0);
    png_seed("png-grey8-trns.png", 7, 5, 0, 8, 0, 1);
    png_seed("png-grey16-trns.png", 7, 5, 0, 16, 0, 1);
    png_seed("png-greyalpha8.png", 7, 5, 4, 8, 0, 0);
    png_seed("png-greyalpha16.png", 7, 5, 4, 16, 0, 0);
    png_seed("png-rgb8.png", 7, 5, 2, 8, 0, 0);
    png_seed("png-rgb16.png", 7, 5, 2, 16, 0, 0);
    png_seed("png-rgb8-trns.png", 7, 5, 2, 8, 0, 1);
    png_seed("png-rgb16-trns.png", 7, 5, 2, 16, 0, 1);
    png_seed("png-rgba8.png", 7, 5, 6, 8, 0, 0);
    png_seed("png-rgba16.png", 7, 5, 6, 16, 0, 0);
    png_seed("png-rgb8-1x1.png", 1, 1, 2, 8, 0, 0);
    /* Adam7 at 9x9 fills every pass, some of them partly. */
    png_seed("png-adam7-grey1.png", 9, 9, 0, 1, 1, 0);
    png_seed("png-adam7-grey16.png", 9, 9, 0, 16, 1, 0);
    png_seed("png-adam7-greyalpha8.png", 9, 9, 4, 8, 1, 0);
    png_seed("png-adam7-palette4-trns.png", 9, 9, 3, 4, 1, 1);
    png_seed("png-adam7-rgb8.png", 9, 9, 2, 8, 1, 0);
    png_seed("png-adam7-rgba8.png", 9, 9, 6, 8, 1, 0);
    png_seed("png-adam7-rgba16.png", 9, 9, 6, 16, 1, 0);
    /* Narrower than the first passes: some passes are empty. */
    png_seed("png-adam7-rgb8-3x2.png", 3, 2, 2, 8, 1, 0);
    png_text_seeds();
}

/* --- JPEG -------------------------------------------------------------- */

static void jpeg_seed(const char *name, int w, int h, int components, int progressive) {
    unsigned char *px = pattern((size_t)w * (size_t)h * (size_t)components, (unsigned)components);
    char err[IMAGEIO_ERR_LEN];
    if (imageio_test_write_jpeg(path_of(name), w, h, components, 75, progressive, px, err))
        die(name, err);
    written++;
    free(px);
}

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} seed_jpeg_error;

static void seed_jpeg_exit(j_common_ptr cinfo) {
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    die("jpeg", msg);
}

enum { ARITH = 1, RESTART = 2, FULL_CHROMA = 4, NO_ADOBE = 8, YCCK = 16, PROGRESSIVE = 32 };

/* The variants the test writer has no switch for. */
static void jpeg_seed_ex(const char *name, int w, int h, int components, int flags) {
    unsigned char *px = pattern((size_t)w * (size_t)h * (size_t)components, 40u + (unsigned)flags);
    struct jpeg_compress_struct cinfo;
    seed_jpeg_error e;
    cinfo.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = seed_jpeg_exit;
    jpeg_create_compress(&cinfo);
    unsigned char *out = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &out, &size);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 80, TRUE);
    if (flags & YCCK) jpeg_set_colorspace(&cinfo, JCS_YCCK);
    if (flags & NO_ADOBE) cinfo.write_Adobe_marker = FALSE;
    if (flags & ARITH) cinfo.arith_code = TRUE;
    if (flags & RESTART) cinfo.restart_interval = 1;
    if (flags & FULL_CHROMA)
        for (int c = 0; c < cinfo.num_components; c++)
            cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
    if (flags & PROGRESSIVE) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = px + (size_t)cinfo.next_scanline * (size_t)w * (size_t)components;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    write_file(name, out, size);
    free(out);
    free(px);
}

static void jpeg_seeds(void) {
    /* 17x9 leaves partial MCUs on both axes, with and without subsampling. */
    jpeg_seed("jpeg-grey.jpg", 17, 9, 1, 0);
    jpeg_seed("jpeg-grey-progressive.jpg", 17, 9, 1, 1);
    jpeg_seed("jpeg-rgb.jpg", 17, 9, 3, 0);
    jpeg_seed("jpeg-rgb-progressive.jpg", 17, 9, 3, 1);
    jpeg_seed("jpeg-rgb-1x1.jpg", 1, 1, 3, 0);
    jpeg_seed("jpeg-cmyk-adobe.jpg", 17, 9, 4, 0);
    jpeg_seed("jpeg-cmyk-adobe-progressive.jpg", 17, 9, 4, 1);
    jpeg_seed_ex("jpeg-cmyk-no-adobe.jpg", 17, 9, 4, NO_ADOBE);
    jpeg_seed_ex("jpeg-ycck.jpg", 17, 9, 4, YCCK);
    jpeg_seed_ex("jpeg-rgb-444.jpg", 17, 9, 3, FULL_CHROMA);
    jpeg_seed_ex("jpeg-rgb-restart.jpg", 17, 9, 3, RESTART);
    jpeg_seed_ex("jpeg-rgb-arith.jpg", 17, 9, 3, ARITH);
    jpeg_seed_ex("jpeg-rgb-arith-progressive.jpg", 17, 9, 3, ARITH | PROGRESSIVE);
}

/* --- round trip -------------------------------------------------------- */

static void roundtrip_seed(const char *name, const unsigned char *head, size_t head_len,
                           size_t pixels) {
    unsigned char buf[1024];
    memcpy(buf, head, head_len);
    unsigned char *px = pattern(pixels, (unsigned)head_len);
    memcpy(buf + head_len, px, pixels);
    free(px);
    write_file(name, buf, head_len + pixels);
}

static void roundtrip_seeds(void) {
    /* 4x3, no text. */
    roundtrip_seed("rt-plain", (const unsigned char *)"\x03\x02\x00", 3, 36);
    /* 2x2, an ASCII pair (tEXt) and a UTF-8 pair (iTXt). */
    static const char two[] = "\x01\x01\x02"
                              "\x08Software\x07restyle"
                              "\x07\x43omment\x06\x63\x61\x66\xc3\xa9!";
    roundtrip_seed("rt-text", (const unsigned char *)two, sizeof two - 1, 12);
    /* A key with a doubled space, which the writer must refuse. */
    static const char bad[] = "\x00\x00\x01\x05\x61  bc\x01x";
    roundtrip_seed("rt-bad-key", (const unsigned char *)bad, sizeof bad - 1, 3);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds image|png-roundtrip DIR\n");
        return 2;
    }
    dir = argv[2];
    if (strcmp(argv[1], "image") == 0) {
        png_seeds();
        jpeg_seeds();
    } else if (strcmp(argv[1], "png-roundtrip") == 0) {
        roundtrip_seeds();
    } else {
        fprintf(stderr, "make_seeds: unknown target %s\n", argv[1]);
        return 2;
    }
    printf("%d seeds in %s\n", written, dir);
    return 0;
}
