#include "tools/video/raw_frame_source.h"

#include <algorithm>
#include <cmath>

#include "tools/video/rgb_converter.h"

namespace posenet::video {

namespace {

constexpr size_t kMaxHeaderBytes = 4096;
constexpr const char* kSupportedColourspaces = "420jpeg, 420paldv, 420mpeg2, 420, 422, 444, mono";

// A non-negative decimal integer of at most 9 digits (larger values are refused as too large later).
std::optional<int64_t> parse_count(std::string_view digits) {
    if (digits.empty() || digits.size() > 9) return std::nullopt;
    int64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

struct Y4mLayout {
    AVPixelFormat format = AV_PIX_FMT_YUV420P;
    int chroma_width = 0, chroma_height = 0;  // 0 for mono
    AVColorRange range = AVCOL_RANGE_MPEG;
    size_t frame_bytes = 0;
};

class Y4mSource : public FrameSource {
public:
    Y4mSource(std::string name, std::unique_ptr<ByteReader> reader, std::optional<FrameRate> rate)
        : name_(std::move(name)), reader_(std::move(reader)) {
        parse_header();
        if (rate) rate_ = *rate;
        if (reader_->size() && header_bytes_ <= *reader_->size())
            expected_ = int64_t((*reader_->size() - header_bytes_) / (layout_.frame_bytes + 6));  // "FRAME\n"
    }

    bool next(Frame& out) override {
        const std::string what = "the header of frame " + std::to_string(index_);
        auto line = reader_->read_line(kMaxHeaderBytes, what);
        if (!line) return false;
        if (line->rfind("FRAME", 0) != 0 || (line->size() > 5 && (*line)[5] != ' '))
            fail(what + " is not a FRAME line");
        planes_.resize(layout_.frame_bytes);
        const size_t got = reader_->read(planes_.data(), planes_.size());
        if (got < planes_.size()) {
            if (reader_->stopped_by_interrupt()) return false;
            fail("truncated: frame " + std::to_string(index_) + " ends after " + std::to_string(got) + " of its " +
                 std::to_string(planes_.size()) + " bytes");
        }
        if (layout_.format == AV_PIX_FMT_GRAY8) grey_to_rgb(out.image);
        else converter_.convert(picture(), out.image, name_);
        out.index = index_;
        out.timestamp_us = frame_time_us(index_, rate_);
        ++index_;
        return true;
    }

    std::optional<int64_t> expected_frames() const override { return expected_; }
    FrameRate frame_rate() const override { return rate_; }
    const std::string& name() const override { return name_; }

private:
    [[noreturn]] void fail(const std::string& reason) const { throw VideoError(name_, reason); }

    void parse_header() {
        auto line = reader_->read_line(kMaxHeaderBytes, "the YUV4MPEG2 header");
        if (!line || line->rfind("YUV4MPEG2 ", 0) != 0) fail("not a YUV4MPEG2 stream");
        header_bytes_ = line->size() + 1;
        std::optional<int64_t> width, height;
        std::string colourspace = "420jpeg";
        std::string range;
        size_t at = 10;
        while (at < line->size()) {
            size_t end = line->find(' ', at);
            if (end == std::string::npos) end = line->size();
            const std::string token = line->substr(at, end - at);
            at = end + 1;
            if (token.empty()) continue;
            const std::string value = token.substr(1);
            switch (token[0]) {
                case 'W':
                    if (!(width = parse_count(value))) fail("YUV4MPEG2 header: bad width '" + value + "'");
                    break;
                case 'H':
                    if (!(height = parse_count(value))) fail("YUV4MPEG2 header: bad height '" + value + "'");
                    break;
                case 'F': {
                    const size_t colon = value.find(':');
                    auto num = parse_count(value.substr(0, colon)),
                         den = colon == std::string::npos ? std::nullopt : parse_count(value.substr(colon + 1));
                    if (!num || !den) fail("YUV4MPEG2 header: bad frame rate '" + value + "'");
                    if (*num == 0 || *den == 0) break;  // F0:0: unknown, the default applies
                    if (!is_plausible({int(*num), int(*den)}))
                        fail("YUV4MPEG2 header: frame rate F" + value + " is out of range (0.001..1000 frames/s)");
                    rate_ = {int(*num), int(*den)};
                    break;
                }
                case 'C': colourspace = value; break;
                case 'X':
                    if (value.rfind("COLORRANGE=", 0) == 0) range = value.substr(11);
                    break;
                default: break;  // I (interlacing), A (aspect), and future fields: ignored
            }
        }
        if (!width || !height) fail("YUV4MPEG2 header without " + std::string(!width ? "W (width)" : "H (height)"));
        check_frame_size(name_, *width, *height);
        width_ = int(*width);
        height_ = int(*height);
        const int half_width = (width_ + 1) / 2, half_height = (height_ + 1) / 2;
        if (colourspace == "420jpeg" || colourspace == "420paldv" || colourspace == "420mpeg2" || colourspace == "420")
            layout_ = {AV_PIX_FMT_YUV420P, half_width, half_height};
        else if (colourspace == "422") layout_ = {AV_PIX_FMT_YUV422P, half_width, height_};
        else if (colourspace == "444") layout_ = {AV_PIX_FMT_YUV444P, width_, height_};
        else if (colourspace == "mono") layout_ = {AV_PIX_FMT_GRAY8, 0, 0, AVCOL_RANGE_JPEG};
        else fail("YUV4MPEG2 colourspace C" + colourspace + " is not supported (supported: " + kSupportedColourspaces + ")");
        if (range == "FULL") layout_.range = AVCOL_RANGE_JPEG;
        else if (range == "LIMITED") layout_.range = AVCOL_RANGE_MPEG;
        else if (!range.empty()) fail("YUV4MPEG2 header: unknown XCOLORRANGE=" + range);
        layout_.frame_bytes = size_t(width_) * size_t(height_) + 2 * size_t(layout_.chroma_width) * size_t(layout_.chroma_height);
    }

    Picture picture() const {
        Picture p;
        const size_t luma = size_t(width_) * size_t(height_);
        const size_t chroma = size_t(layout_.chroma_width) * size_t(layout_.chroma_height);
        p.planes[0] = planes_.data();
        p.planes[1] = planes_.data() + luma;
        p.planes[2] = planes_.data() + luma + chroma;
        p.strides[0] = width_;
        p.strides[1] = p.strides[2] = layout_.chroma_width;
        p.width = width_;
        p.height = height_;
        p.format = layout_.format;
        p.range = layout_.range;
        return p;
    }

    // Grey: Y copied to R, G and B (limited range stretched: round((Y - 16) * 255 / 219), clamped).
    void grey_to_rgb(Image& out) const {
        out.width = width_;
        out.height = height_;
        out.pixels.resize(size_t(width_) * size_t(height_) * 3);
        const bool limited = layout_.range == AVCOL_RANGE_MPEG;
        for (size_t i = 0, n = size_t(width_) * size_t(height_); i < n; ++i) {
            int v = planes_[i];
            if (limited) v = std::clamp(int(std::lround((v - 16) * 255.0 / 219.0)), 0, 255);
            out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = uint8_t(v);
        }
    }

    std::string name_;
    std::unique_ptr<ByteReader> reader_;
    int width_ = 0, height_ = 0;
    Y4mLayout layout_;
    FrameRate rate_ = kDefaultFrameRate;
    size_t header_bytes_ = 0;
    std::optional<int64_t> expected_;
    std::vector<uint8_t> planes_;
    RgbConverter converter_;
    int64_t index_ = 0;
};

class Rgb24Source : public FrameSource {
public:
    Rgb24Source(std::string name, std::unique_ptr<ByteReader> reader, int width, int height, FrameRate rate)
        : name_(std::move(name)), reader_(std::move(reader)), width_(width), height_(height), rate_(rate) {
        check_frame_size(name_, width, height);
    }

    bool next(Frame& out) override {
        out.image.width = width_;
        out.image.height = height_;
        out.image.pixels.resize(size_t(width_) * size_t(height_) * 3);
        const size_t got = reader_->read(out.image.pixels.data(), out.image.pixels.size());
        if (got == 0 || reader_->stopped_by_interrupt()) return false;
        if (got < out.image.pixels.size())
            throw VideoError(name_, "truncated: frame " + std::to_string(index_) + " ends after " + std::to_string(got) +
                                        " of its " + std::to_string(out.image.pixels.size()) + " bytes (" +
                                        std::to_string(width_) + "x" + std::to_string(height_) + " RGB24)");
        out.index = index_;
        out.timestamp_us = frame_time_us(index_, rate_);
        ++index_;
        return true;
    }

    std::optional<int64_t> expected_frames() const override {
        if (!reader_->size()) return std::nullopt;
        return int64_t(*reader_->size() / (size_t(width_) * size_t(height_) * 3));
    }
    FrameRate frame_rate() const override { return rate_; }
    const std::string& name() const override { return name_; }

private:
    std::string name_;
    std::unique_ptr<ByteReader> reader_;
    int width_, height_;
    FrameRate rate_;
    int64_t index_ = 0;
};

}  // namespace

std::unique_ptr<FrameSource> open_y4m(std::string name, std::unique_ptr<ByteReader> reader, std::optional<FrameRate> rate) {
    return std::make_unique<Y4mSource>(std::move(name), std::move(reader), rate);
}

std::unique_ptr<FrameSource> open_rgb24(std::string name, std::unique_ptr<ByteReader> reader, int width, int height,
                                        std::optional<FrameRate> rate) {
    return std::make_unique<Rgb24Source>(std::move(name), std::move(reader), width, height, rate.value_or(kDefaultFrameRate));
}

}  // namespace posenet::video
