#include "tools/video/rgb_converter.h"

#include <cstring>

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "tools/video/frame_source.h"

namespace posenet::video {

namespace {

bool is_full_range_jpeg_format(AVPixelFormat format) {
    switch (format) {
        case AV_PIX_FMT_YUVJ420P:
        case AV_PIX_FMT_YUVJ422P:
        case AV_PIX_FMT_YUVJ444P:
        case AV_PIX_FMT_YUVJ440P:
        case AV_PIX_FMT_YUVJ411P: return true;
        default: return false;
    }
}

// The matrix libswscale should use (its SWS_CS_* values are AVColorSpace values).
int yuv_matrix(AVColorSpace tagged, int height) {
    switch (tagged) {
        case AVCOL_SPC_BT709:
        case AVCOL_SPC_FCC:
        case AVCOL_SPC_BT470BG:
        case AVCOL_SPC_SMPTE170M:
        case AVCOL_SPC_SMPTE240M:
        case AVCOL_SPC_BT2020_NCL:
        case AVCOL_SPC_BT2020_CL: return int(tagged);
        default: return height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    }
}

}  // namespace

Picture picture_of(const AVFrame& frame) {
    Picture p;
    for (int i = 0; i < 4; ++i) {
        p.planes[i] = frame.data[i];
        p.strides[i] = frame.linesize[i];
    }
    p.width = frame.width;
    p.height = frame.height;
    p.format = AVPixelFormat(frame.format);
    p.colorspace = frame.colorspace;
    p.range = frame.color_range;
    return p;
}

RgbConverter::~RgbConverter() {
    sws_freeContext(context_);
    av_freep(&scratch_);
}

void RgbConverter::prepare(const Layout& layout, std::string_view input) {
    if (context_ && layout == layout_) return;
    sws_freeContext(context_);
    context_ = nullptr;
    av_freep(&scratch_);
    const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(layout.format);
    if (!desc || !sws_isSupportedInput(layout.format))
        throw VideoError(input, std::string("pixel format ") + (desc ? desc->name : "unknown") +
                                    " cannot be converted to RGB");
    const int flags = SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
    context_ = sws_getContext(layout.width, layout.height, layout.format, layout.width, layout.height,
                              AV_PIX_FMT_RGB24, flags, nullptr, nullptr, nullptr);
    if (!context_)
        throw VideoError(input, "libswscale cannot convert " + std::string(desc->name) + " at " +
                                    std::to_string(layout.width) + "x" + std::to_string(layout.height) + " to RGB");
    const bool is_rgb = desc->flags & AV_PIX_FMT_FLAG_RGB;
    const bool is_grey = desc->nb_components <= 2 && !is_rgb && !(desc->flags & AV_PIX_FMT_FLAG_PAL);
    if (!is_rgb) {
        const bool full_range = is_grey ? layout.range != AVCOL_RANGE_MPEG
                                        : layout.range == AVCOL_RANGE_JPEG || is_full_range_jpeg_format(layout.format);
        const int* matrix = sws_getCoefficients(yuv_matrix(layout.colorspace, layout.height));
        // Brightness 0, contrast and saturation 1.0 (16.16 fixed point): the tags' conversion, nothing else.
        sws_setColorspaceDetails(context_, matrix, full_range ? 1 : 0, matrix, 1, 0, 1 << 16, 1 << 16);
    }
    uint8_t* planes[4] = {};
    int strides[4] = {};
    if (av_image_alloc(planes, strides, layout.width, layout.height, AV_PIX_FMT_RGB24, 64) < 0) throw std::bad_alloc();
    scratch_ = planes[0];
    scratch_stride_ = strides[0];
    layout_ = layout;
}

void RgbConverter::convert(const Picture& picture, Image& out, std::string_view input) {
    check_frame_size(input, picture.width, picture.height);
    prepare({picture.width, picture.height, picture.format, picture.colorspace, picture.range}, input);
    uint8_t* dst[4] = {scratch_, nullptr, nullptr, nullptr};
    int dst_strides[4] = {scratch_stride_, 0, 0, 0};
    const int rows = sws_scale(context_, picture.planes, picture.strides, 0, picture.height, dst, dst_strides);
    if (rows != picture.height) throw VideoError(input, "libswscale failed to convert a frame to RGB");
    out.width = picture.width;
    out.height = picture.height;
    const size_t row_bytes = size_t(picture.width) * 3;
    out.pixels.resize(row_bytes * size_t(picture.height));
    for (int y = 0; y < picture.height; ++y)
        std::memcpy(out.pixels.data() + row_bytes * size_t(y), scratch_ + size_t(scratch_stride_) * size_t(y), row_bytes);
}

}  // namespace posenet::video
