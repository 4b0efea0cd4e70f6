#include "data/jpeg_decode.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>

#include "data/media_limits.h"

namespace anima {
namespace {

// libjpeg reports a fatal error by calling error_exit, which must not return: it jumps back to
// decode_jpeg's setjmp (only C frames lie between), which then throws.
struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr c) {
  JpegError* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

void on_message(j_common_ptr, int) {}  // warnings (corrupt data it can skip) stay quiet

// Destroys the decompressor however decode_jpeg ends (a return, a C++ exception, or the throw
// after a libjpeg error).
struct Decompressor {
  jpeg_decompress_struct cinfo;
  bool created = false;
  ~Decompressor() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

}  // namespace

Tensor decode_jpeg(const std::string& bytes, const std::string& what) {
  // Everything with a destructor is declared before setjmp, so the jump skips none.
  Tensor out;
  std::string row;
  Decompressor dec;
  jpeg_decompress_struct& cinfo = dec.cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_error;
  err.mgr.emit_message = on_message;
  err.message[0] = '\0';
  if (setjmp(err.jump)) ANIMA_FAIL(what, ": cannot decode image (format from the bytes: jpeg): ", err.message);
  jpeg_create_decompress(&cinfo);
  dec.created = true;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  check_image_size(int64_t(cinfo.image_width), int64_t(cinfo.image_height), what);
  bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  int64_t h = cinfo.output_height, w = cinfo.output_width, c = cinfo.output_components;
  out = Tensor::empty(Shape{h, w, 3}, DType::U8);
  unsigned char* dst = out.data<uint8_t>();
  row.assign(size_t(w * c), '\0');
  while (cinfo.output_scanline < cinfo.output_height) {
    int64_t y = cinfo.output_scanline;
    JSAMPROW rows[1] = {reinterpret_cast<JSAMPROW>(row.data())};
    jpeg_read_scanlines(&cinfo, rows, 1);
    const unsigned char* s = reinterpret_cast<const unsigned char*>(row.data());
    unsigned char* d = dst + y * w * 3;
    if (!cmyk) {
      std::memcpy(d, s, size_t(w * 3));
      continue;
    }
    for (int64_t x = 0; x < w; ++x) {  // Adobe's inverted CMYK: channel * K / 255
      int k = s[4 * x + 3];
      for (int ch = 0; ch < 3; ++ch) d[3 * x + ch] = (unsigned char)((s[4 * x + ch] * k + 127) / 255);
    }
  }
  jpeg_finish_decompress(&cinfo);
  return out;
}

}  // namespace anima
