// stb_image and stb_image_write compiled into the fuzz targets with coverage instrumentation (the
// product links Debian's libstb instead), so the image fuzzer explores the decoders themselves.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
