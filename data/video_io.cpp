#include "data/video_io.h"
#include "data/media_limits.h"

#ifndef ANIMA_VIDEO
#define ANIMA_VIDEO 1
#endif

#if ANIMA_VIDEO
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}
#endif

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "data/image_io.h"

namespace anima {

bool built_with_video() { return ANIMA_VIDEO != 0; }

#if ANIMA_VIDEO
namespace {

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

#define ANIMA_AV_CHECK(expr, path, what)                                               \
  do {                                                                                 \
    int anima_rc_ = (expr);                                                            \
    if (anima_rc_ < 0) ANIMA_FAIL(path, ": ", what, " failed: ", av_error(anima_rc_)); \
  } while (0)

// Owners of the FFmpeg objects: freed on every exit path.
struct InputFile {
  AVFormatContext* fmt = nullptr;
  AVCodecContext* codec = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  ~InputFile() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    avformat_close_input(&fmt);
  }
};

struct OutputFile {
  AVFormatContext* fmt = nullptr;
  AVCodecContext* codec = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  bool opened = false;
  ~OutputFile() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    if (fmt && opened) avio_closep(&fmt->pb);
    avformat_free_context(fmt);
  }
};

template <class OnFrame>
double decode(const std::string& path, int64_t max_frames, OnFrame on_frame, double* fps_out = nullptr) {
  av_log_set_level(AV_LOG_ERROR);
  InputFile in;
  ANIMA_AV_CHECK(avformat_open_input(&in.fmt, path.c_str(), nullptr, nullptr), path, "opening");
  ANIMA_AV_CHECK(avformat_find_stream_info(in.fmt, nullptr), path, "reading stream info");
  int stream = av_find_best_stream(in.fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  ANIMA_CHECK(stream >= 0, path, ": no video stream (", av_error(stream), ")");
  AVStream* st = in.fmt->streams[stream];
  if (st->codecpar->width > 0 && st->codecpar->height > 0) check_image_size(st->codecpar->width, st->codecpar->height, path);
  const AVCodec* dec = avcodec_find_decoder(st->codecpar->codec_id);
  ANIMA_CHECK(dec != nullptr, path, ": no decoder for codec ", avcodec_get_name(st->codecpar->codec_id));
  in.codec = avcodec_alloc_context3(dec);
  ANIMA_CHECK(in.codec != nullptr, path, ": out of memory");
  ANIMA_AV_CHECK(avcodec_parameters_to_context(in.codec, st->codecpar), path, "copying codec parameters");
  in.codec->thread_count = 1;
  ANIMA_AV_CHECK(avcodec_open2(in.codec, dec, nullptr), path, "opening the decoder");
  in.frame = av_frame_alloc();
  in.packet = av_packet_alloc();
  ANIMA_CHECK(in.frame && in.packet, path, ": out of memory");
  AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
  double fps = rate.den > 0 ? av_q2d(rate) : 0;
  if (fps_out) *fps_out = fps;  // known before the first frame (streaming writers need it)
  int64_t count = 0;
  auto drain = [&]() {
    while (true) {
      int rc = avcodec_receive_frame(in.codec, in.frame);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      ANIMA_AV_CHECK(rc, path, "decoding a frame");
      int w = in.frame->width, h = in.frame->height;
      ANIMA_CHECK(w > 0 && h > 0, path, ": decoded an empty frame");
      check_image_size(w, h, path);
      check_frame_count(count + 1, path);
      in.sws = sws_getCachedContext(in.sws, w, h, AVPixelFormat(in.frame->format), w, h, AV_PIX_FMT_RGB24,
                                    SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
      ANIMA_CHECK(in.sws != nullptr, path, ": cannot convert pixel format ",
                  av_get_pix_fmt_name(AVPixelFormat(in.frame->format)), " to RGB");
      Tensor rgb = Tensor::empty(Shape{h, w, 3}, DType::U8);
      uint8_t* dst[1] = {rgb.data<uint8_t>()};
      int stride[1] = {3 * w};
      sws_scale(in.sws, in.frame->data, in.frame->linesize, 0, h, dst, stride);
      av_frame_unref(in.frame);
      if (max_frames < 0 || count < max_frames) on_frame(rgb);
      ++count;
    }
  };
  while (max_frames < 0 || count < max_frames) {
    int rc = av_read_frame(in.fmt, in.packet);
    if (rc == AVERROR_EOF) break;
    ANIMA_AV_CHECK(rc, path, "reading a packet");
    if (in.packet->stream_index == stream) {
      int sent = avcodec_send_packet(in.codec, in.packet);
      av_packet_unref(in.packet);
      ANIMA_AV_CHECK(sent, path, "sending a packet to the decoder");
      drain();
    } else {
      av_packet_unref(in.packet);
    }
  }
  avcodec_send_packet(in.codec, nullptr);  // flush
  drain();
  ANIMA_CHECK(count > 0, path, ": no frame could be decoded");
  return fps;
}

}  // namespace

VideoData read_video(const std::string& path, int64_t max_frames) {
  VideoData v;
  v.fps = decode(path, max_frames, [&](const Tensor& f) { v.frames.push_back(f); });
  return v;
}

int64_t probe_video(const std::string& path) {
  int64_t n = 0;
  decode(path, -1, [&](const Tensor&) { ++n; });
  return n;
}

bool has_h264_encoder() { return avcodec_find_encoder_by_name("libx264") != nullptr; }

struct VideoWriter::Impl {
  std::string path, ext, tmp;
  double fps;
  int crf;
  bool gif;
  int64_t h = 0, w = 0, count = 0;
  int ow = 0, oh = 0;
  AVPixelFormat pix = AV_PIX_FMT_NONE;
  std::unique_ptr<OutputFile> out;
  AVStream* st = nullptr;
  bool finished = false;

  ~Impl() {  // not finished: a failed or abandoned write leaves no file behind
    out.reset();
    if (!finished && !tmp.empty()) std::remove(tmp.c_str());
  }

  void start(int64_t frame_h, int64_t frame_w) {
    h = frame_h;
    w = frame_w;
    check_image_size(w, h, path);
    av_log_set_level(AV_LOG_ERROR);
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + ext;
    ow = int(gif ? w : (w + 1) / 2 * 2);
    oh = int(gif ? h : (h + 1) / 2 * 2);
    out = std::make_unique<OutputFile>();
    ANIMA_AV_CHECK(avformat_alloc_output_context2(&out->fmt, nullptr, gif ? "gif" : "mp4", tmp.c_str()), path,
                   "creating the container");
    const AVCodec* enc = gif ? avcodec_find_encoder(AV_CODEC_ID_GIF) : avcodec_find_encoder_by_name("libx264");
    if (!enc && !gif) enc = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    ANIMA_CHECK(enc != nullptr, path, ": FFmpeg has no encoder for ", ext);
    st = avformat_new_stream(out->fmt, nullptr);
    out->codec = avcodec_alloc_context3(enc);
    ANIMA_CHECK(st && out->codec, path, ": out of memory");
    pix = gif ? AV_PIX_FMT_RGB8 : AV_PIX_FMT_YUV420P;
    AVRational rate = av_d2q(fps, 100000);
    out->codec->width = ow;
    out->codec->height = oh;
    out->codec->pix_fmt = pix;
    out->codec->time_base = av_inv_q(rate);
    out->codec->framerate = rate;
    out->codec->thread_count = 1;
    if (out->fmt->oformat->flags & AVFMT_GLOBALHEADER) out->codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (std::strcmp(enc->name, "libx264") == 0) {
      av_opt_set(out->codec->priv_data, "crf", std::to_string(crf).c_str(), 0);
      av_opt_set(out->codec->priv_data, "preset", "medium", 0);
    } else if (!gif) {
      out->codec->bit_rate = int64_t(ow) * oh * int64_t(fps) * 2;  // MPEG-4 fallback: ~2 bits per pixel
    }
    ANIMA_AV_CHECK(avcodec_open2(out->codec, enc, nullptr), path, "opening the encoder");
    ANIMA_AV_CHECK(avcodec_parameters_from_context(st->codecpar, out->codec), path, "setting stream parameters");
    st->time_base = out->codec->time_base;
    ANIMA_AV_CHECK(avio_open(&out->fmt->pb, tmp.c_str(), AVIO_FLAG_WRITE), path, "opening the output file");
    out->opened = true;
    ANIMA_AV_CHECK(avformat_write_header(out->fmt, nullptr), path, "writing the header");
    out->frame = av_frame_alloc();
    out->packet = av_packet_alloc();
    ANIMA_CHECK(out->frame && out->packet, path, ": out of memory");
    out->frame->format = pix;
    out->frame->width = ow;
    out->frame->height = oh;
    ANIMA_AV_CHECK(av_frame_get_buffer(out->frame, 0), path, "allocating a frame");
    out->sws = sws_getContext(int(w), int(h), AV_PIX_FMT_RGB24, ow, oh, pix,
                              SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr);
    ANIMA_CHECK(out->sws != nullptr, path, ": cannot convert RGB to ", av_get_pix_fmt_name(pix));
  }

  void write_packets() {
    while (true) {
      int rc = avcodec_receive_packet(out->codec, out->packet);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      ANIMA_AV_CHECK(rc, path, "encoding");
      // Each frame lasts one tick: without a duration the mp4 edit list cuts the last frame.
      if (out->packet->duration == 0) out->packet->duration = 1;
      av_packet_rescale_ts(out->packet, out->codec->time_base, st->time_base);
      out->packet->stream_index = st->index;
      ANIMA_AV_CHECK(av_interleaved_write_frame(out->fmt, out->packet), path, "writing a packet");
    }
  }

  void add(const Tensor& frame) {
    ANIMA_CHECK(!finished, "VideoWriter: ", path, ": add after close");
    if (!out) {
      ANIMA_CHECK(frame.dim() == 3, "write_video: ", path, ": frames must be uint8 [H, W, 3], got ", frame.shape().str());
      start(frame.size(0), frame.size(1));
    }
    ANIMA_CHECK(frame.dtype() == DType::U8 && (frame.shape() == Shape{h, w, 3}), "write_video: ", path,
                ": frames must all be uint8 [", h, ", ", w, ", 3], got ", frame.shape().str());
    Tensor host = frame.is_cuda() ? raw::to_device(frame, Device::cpu()) : frame;
    ANIMA_AV_CHECK(av_frame_make_writable(out->frame), path, "preparing a frame");
    const uint8_t* src[1] = {host.data<uint8_t>()};
    int stride[1] = {int(3 * w)};
    sws_scale(out->sws, src, stride, 0, int(h), out->frame->data, out->frame->linesize);
    out->frame->pts = count++;
    ANIMA_AV_CHECK(avcodec_send_frame(out->codec, out->frame), path, "sending a frame to the encoder");
    write_packets();
  }

  void finish() {
    ANIMA_CHECK(count > 0, "write_video: ", path, ": no frames");
    ANIMA_AV_CHECK(avcodec_send_frame(out->codec, nullptr), path, "flushing the encoder");
    write_packets();
    ANIMA_AV_CHECK(av_write_trailer(out->fmt), path, "writing the trailer");
    out.reset();  // closes the file
    ANIMA_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "write_video: ", path, ": rename failed (",
                std::strerror(errno), ")");
    finished = true;
  }
};

VideoWriter::VideoWriter(const std::string& path, double fps, int crf) : impl_(std::make_unique<Impl>()) {
  ANIMA_CHECK(fps > 0 && fps <= 1000, "write_video: ", path, ": invalid frame rate ", fps);
  std::string ext = lower_extension(path);
  ANIMA_CHECK(ext == "mp4" || ext == "gif", "write_video: ", path, ": unsupported extension (use .mp4 or .gif)");
  impl_->path = path;
  impl_->ext = ext;
  impl_->fps = fps;
  impl_->crf = crf;
  impl_->gif = ext == "gif";
}
VideoWriter::~VideoWriter() = default;
void VideoWriter::add(const Tensor& frame) { impl_->add(frame); }
void VideoWriter::close() { impl_->finish(); }
int64_t VideoWriter::count() const { return impl_->count; }

void write_video(const std::string& path, const std::vector<Tensor>& frames, double fps, int crf) {
  ANIMA_CHECK(!frames.empty(), "write_video: ", path, ": no frames");
  VideoWriter writer(path, fps, crf);
  for (const Tensor& f : frames) writer.add(f);
  writer.close();
}

void for_each_video_file_frame(const std::string& path, const std::function<void(const Tensor&, double)>& on_frame) {
  double fps = 0;
  decode(path, -1, [&](const Tensor& f) { on_frame(f, fps); }, &fps);
}

#else  // VIDEO=0: a build without FFmpeg (the GPU-check bundle); image strips and frame folders still work.

namespace {
[[noreturn]] void no_video(const char* op, const std::string& path) {
  ANIMA_FAIL(op, ": ", path,
             ": this anima was built without video IO (VIDEO=0); "
             "use frame folders or .png strips, or a build with FFmpeg");
}
}  // namespace

VideoData read_video(const std::string& path, int64_t) { no_video("read_video", path); }
int64_t probe_video(const std::string& path) { no_video("probe_video", path); }
bool has_h264_encoder() { return false; }
void write_video(const std::string& path, const std::vector<Tensor>&, double, int) { no_video("write_video", path); }
struct VideoWriter::Impl {};
VideoWriter::VideoWriter(const std::string& path, double, int) { no_video("write_video", path); }
VideoWriter::~VideoWriter() = default;
void VideoWriter::add(const Tensor&) {}
void VideoWriter::close() {}
int64_t VideoWriter::count() const { return 0; }
void for_each_video_file_frame(const std::string& path, const std::function<void(const Tensor&, double)>&) {
  no_video("read_video", path);
}

#endif

std::string lower_extension(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  if (!e.empty()) e.erase(0, 1);
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

bool is_video_file_name(const std::string& path) {
  std::string e = lower_extension(path);
  return e == "mp4" || e == "gif" || e == "mov" || e == "webm" || e == "avi" || e == "mkv";
}

bool is_image_file_name(const std::string& path) {
  std::string e = lower_extension(path);
  return e == "png" || e == "jpg" || e == "jpeg" || e == "bmp";
}

bool is_square_strip(int64_t h, int64_t w) { return h > 0 && w >= 2 * h && w % h == 0; }

std::vector<std::string> sorted_folder_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (!n.empty() && n[0] != '.') names.push_back(n);
  }
  ANIMA_CHECK(!ec, dir, ": cannot read the folder (", ec.message(), ")");
  std::sort(names.begin(), names.end());
  return names;
}

int64_t for_each_video_frame(const std::string& path, const std::function<void(const Tensor&, double)>& on_frame) {
  namespace fs = std::filesystem;
  ANIMA_CHECK(fs::exists(path), path, ": does not exist");
  int64_t n = 0;
  auto counted = [&](const Tensor& f, double fps) {
    ++n;
    on_frame(f, fps);
  };
  if (is_video_file_name(path)) {
    for_each_video_file_frame(path, counted);
    return n;
  }
  if (fs::is_directory(path)) {
    for (const std::string& f : sorted_folder_names(path))
      if (is_image_file_name(f)) {
        check_frame_count(n + 1, path);
        counted(read_image(path + "/" + f), 0);
      }
    ANIMA_CHECK(n > 0, path, ": a folder without frame images (.png, .jpg, .bmp)");
    return n;
  }
  ANIMA_CHECK(is_image_file_name(path), path,
              ": neither a video file (.mp4 .gif .mov .webm .avi .mkv), an image nor a folder");
  Tensor image = read_image(path);
  int64_t h = image.size(0), w = image.size(1);
  if (is_square_strip(h, w)) {
    check_frame_count(w / h, path);
    for (int64_t k = 0; k < w / h; ++k) {  // frame k: columns k h .. (k + 1) h, copied row by row
      Tensor frame = Tensor::empty(Shape{h, h, 3}, DType::U8);
      const uint8_t* src = image.data<uint8_t>();
      uint8_t* dst = frame.data<uint8_t>();
      for (int64_t y = 0; y < h; ++y) std::memcpy(dst + y * h * 3, src + (y * w + k * h) * 3, size_t(h) * 3);
      counted(frame, 0);
    }
  } else {
    counted(image, 0);
  }
  return n;
}

VideoData read_any_video(const std::string& path) {
  VideoData v;
  for_each_video_frame(path, [&](const Tensor& f, double fps) {
    v.frames.push_back(f);
    v.fps = fps;
  });
  return v;
}

}  // namespace anima
