#include "tools/video/video_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>
#include <libavutil/opt.h>
#include <libavutil/rational.h>
#include <libswscale/swscale.h>
}

#include "tools/video/ffmpeg_error.h"

namespace posenet::video {

namespace {
constexpr AVRational kMicroseconds{1, 1000000};
}

const char* to_string(VideoCodec codec) {
    switch (codec) {
        case VideoCodec::Auto: return "auto";
        case VideoCodec::H264: return "h264";
        case VideoCodec::Mpeg4: return "mpeg4";
    }
    return "?";
}

struct VideoEncoder::State {
    std::string name;
    int width = 0, height = 0;
    AVFormatContext* muxer = nullptr;
    AVCodecContext* encoder = nullptr;
    AVStream* stream = nullptr;
    AVFrame* yuv = nullptr;
    AVPacket* packet = nullptr;
    SwsContext* to_yuv = nullptr;
    int64_t next_pts = 0;
    bool header_written = false, finished = false;

    ~State() {
        sws_freeContext(to_yuv);
        av_packet_free(&packet);
        av_frame_free(&yuv);
        avcodec_free_context(&encoder);
        if (muxer) {
            if (muxer->pb) avio_closep(&muxer->pb);
            avformat_free_context(muxer);
        }
    }

    [[noreturn]] void fail(const std::string& reason) const { throw VideoError(name, reason); }

    // Sends `frame` (nullptr: flush) and writes every packet the encoder has ready.
    void encode(AVFrame* frame) {
        if (int err = avcodec_send_frame(encoder, frame); err < 0) fail("encoding failed (" + ffmpeg_error_text(err) + ")");
        for (;;) {
            int err = avcodec_receive_packet(encoder, packet);
            if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
            if (err < 0) fail("encoding failed (" + ffmpeg_error_text(err) + ")");
            av_packet_rescale_ts(packet, encoder->time_base, stream->time_base);
            packet->stream_index = stream->index;
            err = av_interleaved_write_frame(muxer, packet);  // takes the packet's reference
            if (err < 0) fail("cannot write (" + ffmpeg_error_text(err) + ")");
        }
    }
};

VideoEncoder::VideoEncoder(const std::filesystem::path& path, std::string name, int width, int height, FrameRate rate,
                           VideoCodec codec)
    : state_(std::make_unique<State>()) {
    capture_ffmpeg_log();
    State& s = *state_;
    s.name = std::move(name);
    s.width = width;
    s.height = height;
    check_frame_size(s.name, width, height);
    if (!rate.known()) rate = kDefaultFrameRate;

    const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
    if (codec == VideoCodec::H264 && !x264) s.fail("this libavcodec has no H.264 encoder (libx264); use --overlay-codec mpeg4");
    const bool use_x264 = codec == VideoCodec::H264 || (codec == VideoCodec::Auto && x264);
    const AVCodec* chosen = use_x264 ? x264 : avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!chosen) s.fail("this libavcodec has no MPEG-4 encoder");
    const bool odd_size = width % 2 || height % 2;
    if (!use_x264 && odd_size)
        s.fail("the MPEG-4 encoder needs even sizes, the frames are " + std::to_string(width) + "x" + std::to_string(height));

    // "file:" so that the path is never taken for another protocol (a name with a colon in it).
    const std::string url = "file:" + std::filesystem::absolute(path).string();
    if (!use_x264) {  // MPEG-4 Part 2 time bases have 16-bit numbers: the nearest such rate
        AVRational reduced{};
        av_reduce(&reduced.num, &reduced.den, rate.num, rate.den, 65535);
        rate = {reduced.num, reduced.den};
    }
    if (int err = avformat_alloc_output_context2(&s.muxer, nullptr, "mp4", url.c_str()); err < 0 || !s.muxer)
        s.fail("cannot make an MP4 (" + ffmpeg_error_text(err) + ")");
    s.encoder = avcodec_alloc_context3(chosen);
    s.packet = av_packet_alloc();
    s.yuv = av_frame_alloc();
    if (!s.encoder || !s.packet || !s.yuv) throw std::bad_alloc();
    AVCodecContext* e = s.encoder;
    e->width = width;
    e->height = height;
    e->time_base = AVRational{rate.den, rate.num};
    e->framerate = AVRational{rate.num, rate.den};
    e->pix_fmt = use_x264 && odd_size ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
    e->sample_aspect_ratio = AVRational{1, 1};
    e->color_range = AVCOL_RANGE_MPEG;
    e->colorspace = AVCOL_SPC_BT709;
    e->color_primaries = AVCOL_PRI_BT709;
    e->color_trc = AVCOL_TRC_BT709;
    if (s.muxer->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (use_x264) {
        av_opt_set(e->priv_data, "preset", "veryfast", 0);
        av_opt_set(e->priv_data, "crf", "18", 0);
    } else {
        e->flags |= AV_CODEC_FLAG_QSCALE;
        e->global_quality = FF_QP2LAMBDA * 2;
    }
    if (int err = avcodec_open2(e, chosen, nullptr); err < 0)
        s.fail(std::string("cannot open the ") + chosen->name + " encoder (" + ffmpeg_error_text(err) + ")");

    s.stream = avformat_new_stream(s.muxer, nullptr);
    if (!s.stream) throw std::bad_alloc();
    s.stream->time_base = e->time_base;
    s.stream->avg_frame_rate = e->framerate;
    if (int err = avcodec_parameters_from_context(s.stream->codecpar, e); err < 0)
        s.fail("cannot set the stream parameters (" + ffmpeg_error_text(err) + ")");

    if (int err = avio_open(&s.muxer->pb, url.c_str(), AVIO_FLAG_WRITE); err < 0)
        s.fail("cannot open for writing (" + ffmpeg_error_text(err) + ")");
    // faststart: the index (moov) goes before the frames, so players can start before the end arrives.
    AVDictionary* muxer_options = nullptr;
    av_dict_set(&muxer_options, "movflags", "+faststart", 0);
    const int header_error = avformat_write_header(s.muxer, &muxer_options);
    av_dict_free(&muxer_options);
    if (header_error < 0) s.fail("cannot write the MP4 header (" + ffmpeg_error_text(header_error) + ")");
    s.header_written = true;

    s.yuv->format = e->pix_fmt;
    s.yuv->width = width;
    s.yuv->height = height;
    if (av_frame_get_buffer(s.yuv, 0) < 0) throw std::bad_alloc();
    s.to_yuv = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, e->pix_fmt,
                              SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr);
    if (!s.to_yuv) s.fail("libswscale cannot convert RGB to the encoder's pixel format");
    const int* bt709 = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(s.to_yuv, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
}

VideoEncoder::~VideoEncoder() = default;

const char* VideoEncoder::codec_name() const { return state_->encoder->codec->name; }

void VideoEncoder::write(const Image& frame, int64_t timestamp_us) {
    State& s = *state_;
    if (frame.width != s.width || frame.height != s.height)
        s.fail("a frame of " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
               " cannot go into a video of " + std::to_string(s.width) + "x" + std::to_string(s.height) +
               " (the first frame's size)");
    if (int err = av_frame_make_writable(s.yuv); err < 0) s.fail("encoding failed (" + ffmpeg_error_text(err) + ")");
    const uint8_t* rgb[4] = {frame.pixels.data(), nullptr, nullptr, nullptr};
    const int rgb_stride[4] = {frame.width * 3, 0, 0, 0};
    sws_scale(s.to_yuv, rgb, rgb_stride, 0, frame.height, s.yuv->data, s.yuv->linesize);
    const int64_t slot = av_rescale_q_rnd(timestamp_us, kMicroseconds, s.encoder->time_base,
                                          AVRounding(AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX));
    s.yuv->pts = std::max(slot, s.next_pts);
    s.next_pts = s.yuv->pts + 1;
    s.encode(s.yuv);
}

void VideoEncoder::finish() {
    State& s = *state_;
    if (s.finished) return;
    s.encode(nullptr);
    if (int err = av_write_trailer(s.muxer); err < 0) s.fail("cannot complete the MP4 (" + ffmpeg_error_text(err) + ")");
    const int write_error = s.muxer->pb->error;
    if (int err = avio_closep(&s.muxer->pb); err < 0 || write_error < 0)
        s.fail("cannot write (" + ffmpeg_error_text(err < 0 ? err : write_error) + ")");
    s.finished = true;
}

}  // namespace posenet::video
