// A small raster canvas for the command line's pictures (training curves): an RGB uint8 image
// [H, W, 3] with filled rectangles, one-pixel lines and text in a built-in 5x7 bitmap font
// (digits, letters — lower case is drawn as upper case — and . - + _ : / ( ) %; other characters
// are blank). Drawing outside the image is clipped.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace anima::tools {

using Rgb = std::array<uint8_t, 3>;

class Canvas {
 public:
  Canvas(int width, int height, Rgb background);
  int width() const { return w_; }
  int height() const { return h_; }
  const Tensor& image() const { return image_; }

  void pixel(int x, int y, Rgb c);
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // inclusive corners
  void line(double x0, double y0, double x1, double y1, Rgb c);
  // Text with its top-left corner at (x, y); each glyph cell is 6 x 8 pixels times scale.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  static int text_width(const std::string& s, int scale = 1) { return int(s.size()) * 6 * scale; }
  static int text_height(int scale = 1) { return 8 * scale; }

 private:
  int w_, h_;
  Tensor image_;
  uint8_t* p_;
};

}  // namespace anima::tools
