#include "tools/video/ffmpeg_source.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/mem.h>
}

#include <cmath>

#include "tools/video/ffmpeg_error.h"
#include "tools/video/interruption.h"
#include "tools/video/rgb_converter.h"

namespace posenet::video {

namespace {

constexpr AVRational kMicroseconds{1, 1000000};
constexpr int kReadBufferBytes = 1 << 16;
constexpr auto kCameraSilenceLimit = std::chrono::seconds(10);

// libavformat reading our descriptor: the file we checked is the file we read.
struct FileReader {
    int fd = -1;

    static int read(void* opaque, uint8_t* buffer, int size) {
        auto* self = static_cast<FileReader*>(opaque);
        for (;;) {
            ssize_t n = ::read(self->fd, buffer, size_t(size));
            if (n > 0) return int(n);
            if (n == 0) return AVERROR_EOF;
            if (errno != EINTR) return AVERROR(errno);
            if (interrupted()) return AVERROR_EXIT;
        }
    }
    static int64_t seek(void* opaque, int64_t offset, int whence) {
        auto* self = static_cast<FileReader*>(opaque);
        if (whence & AVSEEK_SIZE) {
            off_t here = ::lseek(self->fd, 0, SEEK_CUR), end = ::lseek(self->fd, 0, SEEK_END);
            ::lseek(self->fd, here, SEEK_SET);
            return end < 0 ? AVERROR(errno) : int64_t(end);
        }
        off_t at = ::lseek(self->fd, off_t(offset), whence & ~AVSEEK_FORCE);
        return at < 0 ? AVERROR(errno) : int64_t(at);
    }
};

// Containers may name other files or URLs to open (HLS, DASH, concat lists, MOV references); a video
// given to us is one file, so every such open is refused.
int refuse_nested_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) { return AVERROR(EPERM); }


// Quarter turns clockwise that show the stream upright, from its display matrix (phones record
// sideways and say so there); 0 without one. Flips are not applied.
int upright_quarter_turns(const AVStream& stream) {
    const uint8_t* matrix = av_stream_get_side_data(&stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
    if (!matrix) return 0;
    const double counterclockwise = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
    if (std::isnan(counterclockwise)) return 0;
    const long clockwise = std::lround(-counterclockwise / 90.0);
    return int(((clockwise % 4) + 4) % 4);
}

// `image` turned clockwise by `quarter_turns` * 90 degrees.
void rotate_clockwise(Image& image, int quarter_turns, Image& scratch) {
    if (quarter_turns == 0) return;
    const int w = image.width, h = image.height;
    const bool swaps = quarter_turns % 2 == 1;
    scratch.width = swaps ? h : w;
    scratch.height = swaps ? w : h;
    scratch.pixels.resize(image.pixels.size());
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            int tx = x, ty = y;
            if (quarter_turns == 1) tx = h - 1 - y, ty = x;
            else if (quarter_turns == 2) tx = w - 1 - x, ty = h - 1 - y;
            else tx = y, ty = w - 1 - x;
            const uint8_t* from = &image.pixels[(size_t(y) * size_t(w) + size_t(x)) * 3];
            uint8_t* to = &scratch.pixels[(size_t(ty) * size_t(scratch.width) + size_t(tx)) * 3];
            to[0] = from[0], to[1] = from[1], to[2] = from[2];
        }
    std::swap(image, scratch);
}

class FfmpegSource : public FrameSource {
public:
    FfmpegSource(std::string name, bool live) : name_(std::move(name)), live_(live) {}
    ~FfmpegSource() override {
        av_frame_free(&frame_);
        av_packet_free(&packet_);
        avcodec_free_context(&decoder_);
        avformat_close_input(&format_);
        if (io_) {
            av_freep(&io_->buffer);
            avio_context_free(&io_);
        }
        if (reader_.fd >= 0) ::close(reader_.fd);
    }

    // libavformat's blocking calls ask this between reads: a signal, or a camera's time running out.
    static int interrupt_check(void* opaque) {
        const auto* self = static_cast<const FfmpegSource*>(opaque);
        return interrupted() || std::chrono::steady_clock::now() > self->deadline_ ? 1 : 0;
    }

    void open_file(int fd) {
        reader_.fd = fd;
        auto* buffer = static_cast<uint8_t*>(av_malloc(kReadBufferBytes));
        if (!buffer) throw std::bad_alloc();
        io_ = avio_alloc_context(buffer, kReadBufferBytes, 0, &reader_, FileReader::read, nullptr, FileReader::seek);
        if (!io_) {
            av_free(buffer);
            throw std::bad_alloc();
        }
        format_ = avformat_alloc_context();
        if (!format_) throw std::bad_alloc();
        format_->pb = io_;
        format_->flags |= AVFMT_FLAG_CUSTOM_IO;
        format_->io_open = refuse_nested_open;
        format_->interrupt_callback = {interrupt_check, this};
        // The name only helps libavformat guess the format from an extension; it is never opened.
        if (int err = avformat_open_input(&format_, name_.c_str(), nullptr, nullptr); err < 0)
            fail("not a video libavformat can read (" + ffmpeg_error_text(err) + ")");
        open_decoder();
    }

    void open_camera(const SourceOptions& options) {
        static const bool registered = (avdevice_register_all(), true);
        (void)registered;
        const AVInputFormat* v4l2 = av_find_input_format("v4l2");
        if (!v4l2) fail("this FFmpeg has no v4l2 input (libavdevice without Video4Linux2)");
        AVDictionary* demuxer_options = nullptr;
        if (options.width > 0)
            av_dict_set(&demuxer_options, "video_size",
                        (std::to_string(options.width) + "x" + std::to_string(options.height)).c_str(), 0);
        if (options.rate)
            av_dict_set(&demuxer_options, "framerate",
                        (std::to_string(options.rate->num) + "/" + std::to_string(options.rate->den)).c_str(), 0);
        format_ = avformat_alloc_context();
        if (!format_) throw std::bad_alloc();
        format_->flags |= AVFMT_FLAG_NONBLOCK;  // waits are ours: interruptible, with a time limit
        format_->interrupt_callback = {interrupt_check, this};
        deadline_ = std::chrono::steady_clock::now() + kCameraSilenceLimit;  // opening reads its first frames
        int err = avformat_open_input(&format_, name_.c_str(), v4l2, &demuxer_options);
        av_dict_free(&demuxer_options);
        if (err < 0) fail(camera_failure("cannot open the camera", err));
        open_decoder();
        deadline_ = std::chrono::steady_clock::time_point::max();
    }

    bool next(Frame& out) override {
        for (;;) {
            int err = avcodec_receive_frame(decoder_, frame_);
            if (err == 0) {
                deliver(out);
                av_frame_unref(frame_);
                return true;
            }
            if (err == AVERROR_EOF) {
                check_complete();
                return false;
            }
            if (err != AVERROR(EAGAIN)) fail("cannot decode frame " + std::to_string(frames_) + " (" + ffmpeg_error_text(err) + ")");
            if (!feed_decoder()) return false;  // interrupted
        }
    }

    std::optional<int64_t> expected_frames() const override {
        if (live_) return std::nullopt;
        if (stream_->nb_frames > 0) return stream_->nb_frames;
        if (format_->duration > 0 && rate_.known())
            return av_rescale(format_->duration, rate_.num, int64_t(rate_.den) * AV_TIME_BASE);
        return std::nullopt;
    }
    FrameRate frame_rate() const override { return rate_; }
    bool is_live() const override { return live_; }
    const std::string& name() const override { return name_; }

private:
    // A failure while a signal is pending is the signal's doing, whatever FFmpeg called it.
    [[noreturn]] void fail(const std::string& reason) const {
        throw VideoError(name_, interrupted() ? std::string("interrupted") : reason);
    }

    std::string camera_failure(const std::string& what, int err) const {
        if (std::chrono::steady_clock::now() > deadline_) return what + ": no frame came for 10 seconds";
        return what + " (" + ffmpeg_error_text(err) + ")";
    }

    void open_decoder() {
        if (int err = avformat_find_stream_info(format_, nullptr); err < 0)
            fail(live_ ? camera_failure("cannot read the stream parameters", err)
                       : "cannot read the stream parameters (" + ffmpeg_error_text(err) + ")");
        const AVCodec* codec = nullptr;
        int index = av_find_best_stream(format_, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
        if (index == AVERROR_STREAM_NOT_FOUND) fail("no video stream");
        if (index == AVERROR_DECODER_NOT_FOUND || !codec) {
            const AVCodecDescriptor* d = avcodec_descriptor_get(format_->streams[std::max(index, 0)]->codecpar->codec_id);
            fail(std::string("no decoder for its video codec") + (d ? std::string(" (") + d->name + ")" : ""));
        }
        if (index < 0) fail("no usable video stream (" + ffmpeg_error_text(index) + ")");
        stream_ = format_->streams[index];
        for (unsigned i = 0; i < format_->nb_streams; ++i)
            if (int(i) != index) format_->streams[i]->discard = AVDISCARD_ALL;
        const AVCodecParameters* par = stream_->codecpar;
        if (par->width > 0 || par->height > 0) check_frame_size(name_, par->width, par->height);

        decoder_ = avcodec_alloc_context3(codec);
        if (!decoder_) throw std::bad_alloc();
        if (int err = avcodec_parameters_to_context(decoder_, par); err < 0)
            fail("bad codec parameters (" + ffmpeg_error_text(err) + ")");
        decoder_->pkt_timebase = stream_->time_base;
        decoder_->thread_count = 0;  // as many as FFmpeg finds useful
        decoder_->max_pixels = int64_t(kMaxImagePixels);
        // Strict: a damaged stream is an error, not frames with concealed damage.
        decoder_->err_recognition = AV_EF_CRCCHECK | AV_EF_BITSTREAM | AV_EF_BUFFER | AV_EF_EXPLODE;
        if (int err = avcodec_open2(decoder_, codec, nullptr); err < 0)
            fail(std::string("cannot open the ") + codec->name + " decoder (" + ffmpeg_error_text(err) + ")");

        for (AVRational rate : {stream_->avg_frame_rate, stream_->r_frame_rate})  // the average first: players' rate
            if (is_plausible({rate.num, rate.den})) {
                rate_ = {rate.num, rate.den};
                break;
            }
        quarter_turns_ = upright_quarter_turns(*stream_);
        frame_duration_us_ = rate_.known() ? frame_time_us(1, rate_) : frame_time_us(1, kDefaultFrameRate);
        packet_ = av_packet_alloc();
        frame_ = av_frame_alloc();
        if (!packet_ || !frame_) throw std::bad_alloc();
    }

    // Reads packets until one of our stream went to the decoder (true), or the end was signalled
    // to the decoder (true: it drains), or an interrupt (false).
    bool feed_decoder() {
        if (input_ended_) fail("the decoder wants more data after the end of the input");
        auto last_packet = std::chrono::steady_clock::now();
        for (;;) {
            int err = av_read_frame(format_, packet_);
            if (err == AVERROR(EAGAIN)) {  // a camera with no frame ready yet
                if (interrupted()) return false;
                if (std::chrono::steady_clock::now() - last_packet > kCameraSilenceLimit)
                    fail("the camera delivered no frame for 10 seconds");
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                continue;
            }
            if (err == AVERROR_EXIT || (err < 0 && interrupted())) return false;
            if (err == AVERROR_EOF) {
                if (format_->pb && format_->pb->error < 0 && format_->pb->error != AVERROR_EOF)
                    fail("read error (" + ffmpeg_error_text(format_->pb->error) + ")");
                input_ended_ = true;
                avcodec_send_packet(decoder_, nullptr);
                return true;
            }
            if (err < 0) fail("cannot read packet " + std::to_string(packets_) + " (" + ffmpeg_error_text(err) + ")");
            if (packet_->stream_index != stream_->index) {
                av_packet_unref(packet_);
                continue;
            }
            ++packets_;
            if (packet_->flags & AV_PKT_FLAG_CORRUPT) {
                av_packet_unref(packet_);
                fail("truncated or corrupt data in packet " + std::to_string(packets_ - 1));
            }
            err = avcodec_send_packet(decoder_, packet_);
            av_packet_unref(packet_);
            if (err < 0) fail("cannot decode packet " + std::to_string(packets_ - 1) + " (" + ffmpeg_error_text(err) + ")");
            return true;
        }
    }

    void check_complete() const {
        if (!live_ && frames_ == 0) fail("no video frame in the file (cut short before its first frame, or empty)");
        // MP4 and the like list their frames: fewer packets than listed means the file was cut.
        if (!live_ && stream_->nb_frames > 0 && packets_ < stream_->nb_frames)
            fail("truncated: the container lists " + std::to_string(stream_->nb_frames) + " frames, the file holds " +
                 std::to_string(packets_));
    }

    void deliver(Frame& out) {
        if (frame_->decode_error_flags || (frame_->flags & AV_FRAME_FLAG_CORRUPT))
            fail("frame " + std::to_string(frames_) + " is corrupt");
        converter_.convert(picture_of(*frame_), out.image, name_);
        rotate_clockwise(out.image, quarter_turns_, rotated_);
        out.index = frames_++;
        out.timestamp_us = timestamp_us(frame_->best_effort_timestamp);
    }

    // Called after frames_ counted this frame.
    int64_t timestamp_us(int64_t pts) {
        const bool first = frames_ == 1;
        int64_t t = first ? 0 : last_timestamp_us_ + frame_duration_us_;  // no time of its own: one frame on
        if (pts != AV_NOPTS_VALUE) {
            if (origin_ == AV_NOPTS_VALUE)
                origin_ = stream_->start_time != AV_NOPTS_VALUE && stream_->start_time <= pts ? stream_->start_time : pts;
            t = av_rescale_q(pts - origin_, stream_->time_base, kMicroseconds);
        }
        if (first) t = std::max<int64_t>(t, 0);
        else if (t <= last_timestamp_us_) t = last_timestamp_us_ + frame_duration_us_;
        last_timestamp_us_ = t;
        return t;
    }

    std::string name_;
    bool live_ = false;
    std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
    FileReader reader_;
    AVIOContext* io_ = nullptr;
    AVFormatContext* format_ = nullptr;
    AVStream* stream_ = nullptr;
    AVCodecContext* decoder_ = nullptr;
    AVPacket* packet_ = nullptr;
    AVFrame* frame_ = nullptr;
    RgbConverter converter_;
    int quarter_turns_ = 0;  // clockwise, to show frames upright
    Image rotated_;
    FrameRate rate_;
    int64_t frame_duration_us_ = 0;
    int64_t packets_ = 0, frames_ = 0;
    int64_t origin_ = AV_NOPTS_VALUE;
    int64_t last_timestamp_us_ = 0;
    bool input_ended_ = false;
};

}  // namespace

std::unique_ptr<FrameSource> open_video_file(const std::string& path, int fd) {
    auto source = std::make_unique<FfmpegSource>(path, false);
    source->open_file(fd);
    return source;
}

std::unique_ptr<FrameSource> open_camera(const std::string& device, const SourceOptions& options) {
    auto source = std::make_unique<FfmpegSource>(device, true);
    source->open_camera(options);
    return source;
}

}  // namespace posenet::video
