// posenet._posenet: the Python binding (pybind11) of the public C++ API. It includes only the public
// headers (posenet/*.h); python/posenet/__init__.py re-exports it as the `posenet` package.
//
// Images arrive as NumPy arrays and are passed to the detector as posenet::ImageView /
// FloatImageView over the array's own memory where the layout allows it (see image_arg below).
// The GIL is released around every call into the library that may take long (model loading and
// device start-up, inference, image decoding); the arrays and buffers it reads stay referenced by
// the calling frame meanwhile.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <climits>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "posenet/config.h"
#include "posenet/detector.h"
#include "posenet/errors.h"
#include "posenet/image.h"
#include "posenet/pose.h"
#include "posenet/stream.h"
#include "posenet/version.h"

namespace py = pybind11;

namespace {

// ---------------------------------------------------------------------------------------------
// Exceptions: posenet.Error (RuntimeError) and its four subclasses, with the C++ messages.

struct ErrorTypes {
    py::handle error, config, model, image, device;
};
ErrorTypes g_errors;  // owned by the module's attributes, which live as long as the interpreter

py::handle new_exception(py::module_& m, const char* name, py::tuple bases, const char* doc) {
    const std::string qualified = std::string("posenet.") + name;
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
    if (!type) throw py::error_already_set();
    m.add_object(name, py::handle(type));  // the module keeps the reference
    return type;
}

// The library's messages are UTF-8 but may hold file names that are not: never fail on them.
py::object message_str(const char* message) {
    PyObject* s = PyUnicode_DecodeUTF8(message, Py_ssize_t(std::strlen(message)), "backslashreplace");
    if (!s) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(s);
}

void raise(py::handle type, const char* message) {
    try {
        PyErr_SetObject(type.ptr(), message_str(message).ptr());
    } catch (py::error_already_set& e) {
        e.restore();  // no memory for the message: that error is raised instead
    }
}

void register_exceptions(py::module_& m) {
    const py::handle runtime_error = PyExc_RuntimeError;
    g_errors.error = new_exception(m, "Error", py::make_tuple(runtime_error),
                                   "Base class of every error the posenet library raises (a RuntimeError).");
    g_errors.config = new_exception(
        m, "ConfigError", py::make_tuple(g_errors.error, py::handle(PyExc_ValueError)),
        "A configuration value or an argument (an image array) that is not allowed; the message names the field.");
    g_errors.model = new_exception(m, "ModelError", py::make_tuple(g_errors.error),
                                   "A model that cannot be read, converted or validated; the message names the file "
                                   "and the node, weight or field.");
    g_errors.image = new_exception(m, "ImageError", py::make_tuple(g_errors.error),
                                   "A file or buffer that cannot be read or decoded as an image; `file` is its name.");
    g_errors.device = new_exception(m, "DeviceError", py::make_tuple(g_errors.error),
                                    "The compute device failed: no Vulkan device, a device index that does not "
                                    "exist, a precision it cannot run, memory exhausted, a lost device.");
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const posenet::ConfigError& e) {
            raise(g_errors.config, e.what());
        } catch (const posenet::ModelError& e) {
            raise(g_errors.model, e.what());
        } catch (const posenet::ImageError& e) {
            // The exception object carries the file name, as the C++ one does.
            PyObject* message = PyUnicode_DecodeUTF8(e.what(), Py_ssize_t(std::strlen(e.what())), "backslashreplace");
            PyObject* exc = message ? PyObject_CallOneArg(g_errors.image.ptr(), message) : nullptr;
            Py_XDECREF(message);
            if (!exc) return;  // the failed call left its own Python error set
            PyObject* file = PyUnicode_DecodeFSDefault(e.file().c_str());
            if (file) {
                PyObject_SetAttrString(exc, "file", file);
                Py_DECREF(file);
            }
            PyErr_Clear();  // a file name that cannot be decoded only loses the attribute
            PyErr_SetObject(g_errors.image.ptr(), exc);
            Py_DECREF(exc);
        } catch (const posenet::DeviceError& e) {
            raise(g_errors.device, e.what());
        }
    });
}

// A ConfigError raised from the binding itself (bad arrays, bad arguments), as the library would.
[[noreturn]] void config_error(const std::string& message) { throw posenet::ConfigError(message); }

// ---------------------------------------------------------------------------------------------
// Arguments

std::string shape_string(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

std::string dtype_string(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// One image of a call, as the library takes it. `owner` keeps the pixels alive: the caller's array
// itself, or a contiguous copy of it.
struct ImageArg {
    py::array owner;
    std::variant<posenet::ImageView, posenet::FloatImageView> view;
    bool is_float() const { return std::holds_alternative<posenet::FloatImageView>(view); }
};

// True when rows of `a` (H x W x channels of `item` bytes) can be read in place: positive, evenly
// spaced rows that each hold packed pixels, with a row stride the view's int can carry.
bool packed_rows(const py::array& a, int channels, py::ssize_t item) {
    const py::ssize_t pixel = item * channels;
    if (a.ndim() == 3 && a.strides(2) != item) return false;
    if (a.strides(1) != pixel) return false;
    const py::ssize_t row = a.strides(0);
    if (row < a.shape(1) * pixel || row > INT_MAX || row % item != 0) return false;
    return reinterpret_cast<uintptr_t>(a.data()) % uintptr_t(item) == 0;
}

// Validates an image array and maps it onto a view. Accepted: H x W x 3 (RGB) or H x W x 4 (RGBA)
// uint8, H x W or H x W x 1 uint8 (grey), H x W x 3 float32 (0..255). Views whose rows are evenly
// spaced and whose pixels are packed (positive strides, pixel stride = channel count, channel
// stride 1: crops such as img[10:-10, 5:-5]) are read in place; any other layout (img[::2, ::2],
// img[::-1], img[..., ::-1], broadcast arrays) is copied into a contiguous array first.
// Raises TypeError for a dtype other than uint8/float32 and posenet.ConfigError for a bad shape.
ImageArg image_arg(const py::handle& object, const std::string& what) {
    if (!py::isinstance<py::array>(object) && !py::hasattr(object, "__array_interface__") &&
        !py::hasattr(object, "__array__") && !PyObject_CheckBuffer(object.ptr()))
        throw py::type_error(what + ": expected a NumPy array (H x W x 3 uint8 RGB, H x W x 4 uint8 RGBA, H x W "
                                    "uint8 grey or H x W x 3 float32), got " +
                             std::string(py::str(py::type::of(object).attr("__name__"))));
    py::array a = py::array::ensure(object);
    if (!a) throw py::error_already_set();
    const bool u8 = a.dtype().is(py::dtype::of<uint8_t>());
    const bool f32 = a.dtype().is(py::dtype::of<float>());
    if (!u8 && !f32)
        throw py::type_error(what + ": dtype " + dtype_string(a) + " is not supported (uint8 for RGB, RGBA or grey; "
                             "float32 for RGB 0..255), shape " + shape_string(a));
    const int channels = a.ndim() == 2 ? 1 : a.ndim() == 3 ? int(a.shape(2)) : 0;
    if (channels == 0)
        config_error(what + ": shape " + shape_string(a) + " has " + std::to_string(a.ndim()) +
                     " dimensions; expected H x W x C (or H x W for grey)");
    const bool ok_channels = u8 ? (channels == 1 || channels == 3 || channels == 4) : channels == 3 && a.ndim() == 3;
    if (!ok_channels)
        config_error(what + ": shape " + shape_string(a) + " has " + std::to_string(channels) + " channel" +
                     (channels == 1 ? "" : "s") + "; " + dtype_string(a) + " images take " +
                     (u8 ? "1 (grey), 3 (RGB) or 4 (RGBA)" : "3 (RGB)"));
    if (a.shape(0) == 0 || a.shape(1) == 0) config_error(what + ": shape " + shape_string(a) + " is empty");
    if (a.shape(0) > INT_MAX || a.shape(1) > INT_MAX)
        config_error(what + ": shape " + shape_string(a) + " is too large");
    const py::ssize_t item = u8 ? 1 : py::ssize_t(sizeof(float));
    if (!packed_rows(a, channels, item)) {
        // np.ascontiguousarray: copies, and keeps `what`'s shape and dtype.
        a = py::module_::import("numpy").attr("ascontiguousarray")(a);
        if (a.strides(0) > INT_MAX) config_error(what + ": shape " + shape_string(a) + " is too large (rows over 2 GiB)");
    }
    ImageArg arg;
    arg.owner = a;
    const int height = int(a.shape(0)), width = int(a.shape(1)), row = int(a.strides(0));
    if (f32) {
        arg.view = posenet::FloatImageView{static_cast<const float*>(a.data()), height, width, row / int(sizeof(float))};
    } else {
        const auto format = channels == 1 ? posenet::PixelFormat::Gray8
                            : channels == 3 ? posenet::PixelFormat::RGB8
                                            : posenet::PixelFormat::RGBA8;
        arg.view = posenet::ImageView{static_cast<const uint8_t*>(a.data()), height, width, row, format};
    }
    return arg;
}

// An 8-bit image as H x W x 3 float32 RGB (grey expanded, alpha dropped), for batches that mix
// uint8 and float32 images: the library takes a batch of one kind. Exact: 0..255 are floats.
ImageArg as_float_rgb(const ImageArg& arg) {
    const auto& v = std::get<posenet::ImageView>(arg.view);
    py::array_t<float> out({py::ssize_t(v.height), py::ssize_t(v.width), py::ssize_t(3)});
    float* dst = out.mutable_data();
    const int bpp = posenet::bytes_per_pixel(v.format);
    for (int y = 0; y < v.height; ++y) {
        const uint8_t* row = v.data + size_t(y) * size_t(v.stride());
        for (int x = 0; x < v.width; ++x, dst += 3) {
            const uint8_t* px = row + size_t(x) * size_t(bpp);
            const bool grey = v.format == posenet::PixelFormat::Gray8;
            dst[0] = px[0], dst[1] = px[grey ? 0 : 1], dst[2] = px[grey ? 0 : 2];
        }
    }
    ImageArg f;
    f.owner = out;
    f.view = posenet::FloatImageView{out.data(), v.height, v.width, v.width * 3};
    return f;
}

posenet::Architecture parse_architecture(const std::string& s) {
    if (s == "MobileNetV1") return posenet::Architecture::MobileNetV1;
    if (s == "ResNet50") return posenet::Architecture::ResNet50;
    config_error("architecture '" + s + "': should be MobileNetV1 or ResNet50");
}

posenet::Backend parse_backend(const std::string& s) {
    if (s == "auto") return posenet::Backend::Auto;
    if (s == "cpu") return posenet::Backend::Cpu;
    if (s == "vulkan") return posenet::Backend::Vulkan;
    config_error("backend '" + s + "': should be auto, cpu or vulkan");
}

// inputResolution: an int (square) or {'width': W, 'height': H}, as pose-detection takes it.
posenet::InputResolution parse_resolution(const py::handle& r) {
    auto side = [](const py::handle& v, const char* name) {
        if (py::isinstance<py::bool_>(v) || !py::isinstance<py::int_>(v))
            throw py::type_error(std::string("input_resolution: ") + name + " must be an int, got " +
                                 std::string(py::str(py::type::of(v).attr("__name__"))));
        // The range (1..4096) is the library's rule, checked by posenet::validate; here only what fits an int.
        const py::int_ big = py::reinterpret_borrow<py::int_>(v);
        if (big < py::int_(INT_MIN) || big > py::int_(INT_MAX))
            config_error("inputResolution " + std::string(name) + " " + py::str(py::handle(big)).cast<std::string>() + ": must be 1..4096");
        return big.cast<int>();
    };
    if (py::isinstance<py::dict>(r)) {
        const py::dict d = py::reinterpret_borrow<py::dict>(r);
        for (const auto& item : d) {
            const std::string key = py::str(item.first);
            if (key != "width" && key != "height")
                config_error("inputResolution: unknown key '" + key + "' (expected 'width' and 'height')");
        }
        if (!d.contains("width") || !d.contains("height"))
            config_error("inputResolution: a dict needs both 'width' and 'height'");
        return {side(d["height"], "height"), side(d["width"], "width")};
    }
    const int n = side(r, "size");
    return {n, n};
}

// ---------------------------------------------------------------------------------------------
// Results, shaped as pose-detection's: {'score', 'keypoints': [{'x', 'y', 'score', 'name'}] * 17}.

py::list keypoint_names() {
    py::list names;
    for (std::string_view n : posenet::kKeypointNames) names.append(py::str(n.data(), n.size()));
    return names;
}

// with_ids: each pose also gets its track id as 'id' (pose-detection's Pose.id), for tracked streams.
py::list poses_list(const std::vector<posenet::Pose>& poses, const py::list& names, bool with_ids = false) {
    py::list out;
    for (const posenet::Pose& p : poses) {
        py::list keypoints;
        for (size_t k = 0; k < p.keypoints.size(); ++k) {
            const posenet::Keypoint& kp = p.keypoints[k];
            py::dict d;
            d["x"] = double(kp.x);
            d["y"] = double(kp.y);
            d["score"] = double(kp.score);
            d["name"] = names[k];  // interned once per call: every pose shares the 17 strings
            keypoints.append(std::move(d));
        }
        py::dict pose;
        pose["score"] = double(p.score);
        pose["keypoints"] = std::move(keypoints);
        if (with_ids) pose["id"] = p.id;
        out.append(std::move(pose));
    }
    return out;
}

py::dict model_info_dict(const posenet::ModelInfo& info) {
    py::dict d;
    d["architecture"] = posenet::to_string(info.architecture);
    d["output_stride"] = info.output_stride;
    d["multiplier"] = double(info.multiplier);
    d["quant_bytes"] = info.quant_bytes;
    py::dict r;
    r["width"] = info.input_resolution.width;
    r["height"] = info.input_resolution.height;
    d["input_resolution"] = r;
    d["input_transform"] = info.input_transform == posenet::InputTransform::MobileNetScale ? "mobilenet" : "resnet";
    d["source_name"] = info.source_name;
    d["layers"] = info.layers;
    d["parameters"] = info.parameters;
    return d;
}

// An owned image's pixels as an H x W x 3 uint8 array, without copying them.
py::array image_array(posenet::Image&& image) {
    auto* pixels = new std::vector<uint8_t>(std::move(image.pixels));
    py::capsule owner(pixels, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
    return py::array_t<uint8_t>({py::ssize_t(image.height), py::ssize_t(image.width), py::ssize_t(3)},
                                pixels->data(), owner);
}

// ---------------------------------------------------------------------------------------------
// The log callback: a Python callable called from whichever thread the library logs on. The
// callable is held through a shared_ptr whose deleter takes the GIL, so copies of the
// std::function may be made and dropped by the library while the GIL is released.

posenet::LogCallback log_callback(const py::object& log) {
    if (log.is_none()) return {};
    if (!PyCallable_Check(log.ptr())) throw py::type_error("log: expected a callable(level: str, message: str) or None");
    std::shared_ptr<py::object> fn(new py::object(log), [](py::object* p) {
        if (!Py_IsInitialized()) return;  // interpreter gone: leak rather than touch it
        py::gil_scoped_acquire gil;
        delete p;
    });
    return [fn](posenet::LogLevel level, std::string_view message) {
        const char* name = level == posenet::LogLevel::Debug     ? "debug"
                           : level == posenet::LogLevel::Info    ? "info"
                           : level == posenet::LogLevel::Warning ? "warning"
                                                                 : "error";
        py::gil_scoped_acquire gil;
        try {
            (*fn)(name, py::str(message.data(), message.size()));
        } catch (py::error_already_set& e) {
            // A raising callback must not unwind through the library: report it as unraisable.
            e.discard_as_unraisable("posenet log callback");
        }
    };
}

posenet::EstimationConfig estimation_config(int max_poses, bool flip, double score_threshold, double nms_radius) {
    posenet::EstimationConfig c;
    c.max_poses = max_poses;
    c.flip_horizontal = flip;
    c.score_threshold = float(score_threshold);
    c.nms_radius = float(nms_radius);
    posenet::validate(c);  // before any array is copied
    return c;
}

// ---------------------------------------------------------------------------------------------
// Detector

class Detector {
public:
    Detector(const py::object& model, const std::optional<std::string>& architecture, std::optional<int> output_stride,
             const py::object& input_resolution, std::optional<double> multiplier, std::optional<int> quant_bytes,
             const std::string& backend, int device, const std::string& precision, const py::object& pipeline_cache_dir,
             const py::object& log) {
        posenet::ModelConfig config;
        posenet::DetectorOptions options;
        // A blob in memory, or a path (str or os.PathLike). The buffer stays referenced by
        // `model` while the constructor copies it with the GIL released.
        std::optional<py::buffer_info> blob;
        if (py::isinstance<py::bytes>(model) || py::isinstance<py::bytearray>(model) ||
            py::isinstance<py::memoryview>(model)) {
            blob = py::reinterpret_borrow<py::buffer>(model).request();
            if (blob->ndim != 1 || blob->itemsize != 1 || blob->strides[0] != 1)
                throw py::type_error("model: a buffer must be contiguous bytes");
            if (blob->size == 0) config_error("model: the model bytes are empty");
            config.model_data = {static_cast<const uint8_t*>(blob->ptr), size_t(blob->size)};
        } else {
            py::object path = py::module_::import("os").attr("fspath")(model);  // TypeError for other types
            config.model = path.cast<std::string>();
        }
        if (architecture) config.architecture = parse_architecture(*architecture);
        config.output_stride = output_stride;
        if (multiplier) config.multiplier = float(*multiplier);
        config.quant_bytes = quant_bytes;
        config.input_resolution = parse_resolution(input_resolution);
        options.backend = parse_backend(backend);
        options.device = device;
        if (auto p = posenet::parse_precision(precision)) options.precision = *p;
        else config_error("precision '" + precision + "': should be fp32 or fp16");
        if (!pipeline_cache_dir.is_none())
            options.pipeline_cache_dir = py::module_::import("os").attr("fspath")(pipeline_cache_dir).cast<std::string>();
        options.log = log_callback(log);
        posenet::validate(config);
        {
            py::gil_scoped_release release;  // loading, converting, compiling pipelines: seconds on some devices
            detector_ = std::make_shared<posenet::PoseDetector>(config, options);
        }
        names_ = keypoint_names();
    }

    py::list estimate_poses(const py::object& image, int max_poses, bool flip_horizontal, double score_threshold,
                            double nms_radius) {
        const posenet::EstimationConfig config = estimation(max_poses, flip_horizontal, score_threshold, nms_radius);
        const ImageArg arg = image_arg(image, "image");
        const std::shared_ptr<posenet::PoseDetector> detector = get();
        std::vector<posenet::Pose> poses;
        {
            py::gil_scoped_release release;  // `arg` holds the array, `detector` the detector
            if (arg.is_float()) poses = detector->estimate_poses(std::get<posenet::FloatImageView>(arg.view), config);
            else poses = detector->estimate_poses(std::get<posenet::ImageView>(arg.view), config);
        }
        return poses_list(poses, names_);
    }

    py::list estimate_poses_batch(const py::object& images, int max_poses, bool flip_horizontal, double score_threshold,
                                  double nms_radius) {
        const posenet::EstimationConfig config = estimation(max_poses, flip_horizontal, score_threshold, nms_radius);
        if (py::isinstance<py::array>(images) || py::isinstance<py::str>(images) || !py::isinstance<py::sequence>(images))
            throw py::type_error("images: expected a list of image arrays (use estimate_poses for one image)");
        std::vector<ImageArg> args;
        const py::sequence seq = py::reinterpret_borrow<py::sequence>(images);
        args.reserve(seq.size());
        bool any_float = false;
        for (size_t i = 0; i < seq.size(); ++i) {
            args.push_back(image_arg(seq[i], "images[" + std::to_string(i) + "]"));
            any_float = any_float || args.back().is_float();
        }
        const std::shared_ptr<posenet::PoseDetector> detector = get();
        std::vector<std::vector<posenet::Pose>> poses;
        if (any_float) {
            for (ImageArg& a : args)
                if (!a.is_float()) a = as_float_rgb(a);
            std::vector<posenet::FloatImageView> views;
            for (const ImageArg& a : args) views.push_back(std::get<posenet::FloatImageView>(a.view));
            py::gil_scoped_release release;
            poses = detector->estimate_poses(std::span<const posenet::FloatImageView>(views), config);
        } else {
            std::vector<posenet::ImageView> views;
            for (const ImageArg& a : args) views.push_back(std::get<posenet::ImageView>(a.view));
            py::gil_scoped_release release;
            poses = detector->estimate_poses(std::span<const posenet::ImageView>(views), config);
        }
        py::list out;
        for (const auto& p : poses) out.append(poses_list(p, names_));
        return out;
    }

    py::dict model_info() const { return model_info_dict(get()->model_info()); }
    std::string backend() const { return get()->backend_name(); }
    std::string device_name() const { return get()->device_name(); }
    int device_index() const { return get()->device_index(); }
    bool disposed() const { return !detector_; }

    // Frees the model and the device now rather than when Python collects the object; a call
    // running in another thread keeps its own reference and finishes first.
    void dispose() {
        std::shared_ptr<posenet::PoseDetector> last = std::move(detector_);
        py::gil_scoped_release release;  // tearing a Vulkan device down takes a moment
        last.reset();
    }

    std::shared_ptr<posenet::PoseDetector> get() const {
        if (!detector_) config_error("detector: used after dispose()");
        return detector_;
    }

private:
    static posenet::EstimationConfig estimation(int max_poses, bool flip, double score_threshold, double nms_radius) {
        return estimation_config(max_poses, flip, score_threshold, nms_radius);
    }

    // Shared with calls in flight (which run with the GIL released), so dispose() cannot free a
    // detector under them.
    std::shared_ptr<posenet::PoseDetector> detector_;
    py::list names_;
};

// ---------------------------------------------------------------------------------------------
// Streams: posenet::PoseStream in pull mode.

// A failed frame's error as an instance of the exception the call would have raised.
py::object exception_instance(const std::exception_ptr& error, const std::string& message) {
    py::handle type = g_errors.error;
    try {
        std::rethrow_exception(error);
    } catch (const posenet::ConfigError&) {
        type = g_errors.config;
    } catch (const posenet::ModelError&) {
        type = g_errors.model;
    } catch (const posenet::ImageError&) {
        type = g_errors.image;
    } catch (const posenet::DeviceError&) {
        type = g_errors.device;
    } catch (...) {
    }
    return py::reinterpret_borrow<py::object>(type)(message_str(message.c_str()));
}

struct FrameResult {
    uint64_t index = 0;
    int64_t timestamp_us = 0;
    int height = 0, width = 0;
    py::list poses;
    py::object error = py::none();
};

class Stream {
public:
    Stream(const Detector& detector, int max_poses, bool flip_horizontal, double score_threshold, double nms_radius,
           int frames_in_flight, const py::object& tracker, bool smoothing) {
        posenet::StreamOptions options;
        options.estimation = estimation_config(max_poses, flip_horizontal, score_threshold, nms_radius);
        options.frames_in_flight = frames_in_flight;
        if (tracker.is_none()) {
            options.tracker = posenet::StreamTracker::None;
        } else {
            if (!py::isinstance<py::str>(tracker))
                throw py::type_error("tracker: expected None, 'keypoint' or 'bounding_box', got " +
                                     std::string(py::str(py::type::of(tracker).attr("__name__"))));
            const std::string t = tracker.cast<std::string>();
            if (t == "keypoint") options.tracker = posenet::StreamTracker::Keypoint;
            else if (t == "bounding_box") options.tracker = posenet::StreamTracker::BoundingBox;
            else config_error("tracker '" + t + "': should be None, 'keypoint' or 'bounding_box'");
        }
        if (smoothing) options.smoothing = posenet::PoseSmootherConfig{};  // MoveNet's One Euro settings
        tracking_ = options.tracker != posenet::StreamTracker::None;
        std::shared_ptr<posenet::PoseDetector> d = detector.get();
        {
            py::gil_scoped_release release;  // starts a thread and a slot (device buffers) per frame in flight
            state_ = std::shared_ptr<State>(new State(std::move(d), std::move(options)), &destroy);
        }
        names_ = keypoint_names();
    }

    void push(const py::object& image, int64_t timestamp_us) {
        const ImageArg arg = image_arg(image, "image");
        if (arg.is_float())
            throw py::type_error("image: a stream takes uint8 images (RGB, RGBA or grey), not float32");
        std::shared_ptr<State> s = get();
        py::gil_scoped_release release;  // copies the frame; waits while every slot is busy
        s->stream.push(std::get<posenet::ImageView>(arg.view), timestamp_us);
    }

    py::object try_next() {
        std::shared_ptr<State> s = get();
        std::optional<posenet::FrameResult> r = s->stream.try_next();  // never waits
        if (!r) return py::none();
        return py::cast(convert(std::move(*r)));
    }

    FrameResult next() {
        std::shared_ptr<State> s = get();
        posenet::FrameResult r;
        {
            py::gil_scoped_release release;
            r = s->stream.next();
        }
        return convert(std::move(r));
    }

    py::list flush() {
        std::shared_ptr<State> s = get();
        std::vector<posenet::FrameResult> results;
        {
            py::gil_scoped_release release;
            results = s->stream.flush();
        }
        py::list out;
        for (auto& r : results) out.append(convert(std::move(r)));
        return out;
    }

    size_t pending() const { return get()->stream.pending(); }
    int frames_in_flight() const { return get()->stream.frames_in_flight(); }
    bool tracking() const { return tracking_; }
    bool closed() const { return !state_; }

    // Waits for the frames in flight and drops their results; a call running in another thread keeps
    // its own reference and finishes first.
    void close() { state_.reset(); }  // destroy() releases the GIL

private:
    // The detector is held as long as the stream: the stream must not outlive it.
    struct State {
        std::shared_ptr<posenet::PoseDetector> detector;
        posenet::PoseStream stream;
        State(std::shared_ptr<posenet::PoseDetector> d, posenet::StreamOptions o)
            : detector(std::move(d)), stream(*detector, std::move(o)) {}
    };

    // Whoever drops the last reference (close(), garbage collection, a call that outlived close())
    // waits for the frames in flight: without the GIL, which the stream's thread may need (the
    // detector's log callback).
    static void destroy(State* state) {
        if (Py_IsInitialized() && PyGILState_Check()) {
            py::gil_scoped_release release;
            delete state;
        } else {
            delete state;
        }
    }

    std::shared_ptr<State> get() const {
        if (!state_) config_error("stream: used after close()");
        return state_;
    }

    FrameResult convert(posenet::FrameResult&& r) const {
        FrameResult out;
        out.index = r.index;
        out.timestamp_us = r.timestamp_us;
        out.height = r.height, out.width = r.width;
        out.poses = poses_list(r.poses, names_, tracking_);
        if (r.error) out.error = exception_instance(r.error, r.error_message);
        return out;
    }

    std::shared_ptr<State> state_;
    bool tracking_ = false;
    py::list names_;
};

constexpr const char* kStreamDoc = R"doc(Video: frames through a detector with several in flight at once, results in push order.

    stream = posenet.Stream(detector, max_poses=5, tracker="keypoint")
    for t_us, frame in frames:                  # frame: H x W x 3 uint8 (RGB), H x W x 4 (RGBA), H x W (grey)
        stream.push(frame, t_us)                # copies the frame; waits while every slot is busy
        while (r := stream.try_next()) is not None:
            show(r.index, r.timestamp_us, r.poses)
    for r in stream.flush():                    # the frames still in flight
        show(r.index, r.timestamp_us, r.poses)

detector: a posenet.Detector; the stream holds it (a detector disposed meanwhile is freed when the
    stream closes). The detector's own calls still work while a stream runs.
max_poses, flip_horizontal, score_threshold, nms_radius: as estimate_poses takes them.
frames_in_flight: 1..16 (default 3). 1: no overlap; 3: the next frame's upload and the previous
    frame's decoding overlap the network's work on the current one.
tracker: None (default), 'keypoint' (OKS) or 'bounding_box' (IoU): track ids as pose-detection gives
    them to MoveNet's poses, with its default configs; each pose then has an 'id' (from 1).
smoothing: True: One Euro keypoint smoothing with MoveNet's settings after tracking, a filter per
    track (untracked poses share one: meant for max_poses=1).

Results are posenet.FrameResult objects, in push order. Threads: push from one thread at a time;
next, try_next, flush and pending from any thread. The GIL is released while push and next wait.
A frame that fails on the device comes back as a result whose `error` is set (a posenet.DeviceError);
the stream stops there: later frames carry the same error and push raises it.
close() (or leaving a `with` block) waits for the frames in flight and drops their results.)doc";

constexpr const char* kEstimateDoc = R"doc(Estimates the poses in one image, as pose-detection's estimatePoses.

image: a NumPy array, H x W x 3 uint8 (RGB), H x W x 4 uint8 (RGBA; alpha is ignored), H x W (or
    H x W x 1) uint8 (grey), or H x W x 3 float32 (RGB, values 0..255). Views with evenly spaced rows
    of packed pixels (crops such as img[10:-10, 5:-5]) are read in place; other layouts (img[::2, ::2],
    negative strides such as img[::-1] or img[..., ::-1], broadcast arrays) are first copied into a
    contiguous array, which costs one copy of the image.
max_poses: 1 uses the single-pose decoder, more the multi-pose decoder.
flip_horizontal: mirror the keypoints' x.
score_threshold, nms_radius: multi-pose only (root score threshold in [0, 1]; NMS radius > 0 in
    model-input pixels).

Returns a list of poses, each {'score': float, 'keypoints': [{'x', 'y', 'score', 'name'}, ...]} with
the 17 COCO keypoints in source-image pixels. The GIL is released while the network runs.
Raises TypeError for an unsupported dtype, posenet.ConfigError for a bad shape or config,
posenet.DeviceError when the device fails.)doc";

constexpr const char* kBatchDoc = R"doc(Estimates the poses in several images with one run of the network.

images: a list of image arrays as estimate_poses takes them; sizes and formats may differ (a batch
    that mixes uint8 and float32 images runs in float32: the uint8 ones are converted, exactly).
The other arguments are estimate_poses's and apply to every image.

Returns one list of poses per image, in order: the same poses as one estimate_poses call per image.)doc";

}  // namespace

PYBIND11_MODULE(_posenet, m) {
    m.doc() = "The native part of the posenet package; import posenet instead.";
    register_exceptions(m);

    m.attr("__version__") = posenet::version();
    m.attr("KEYPOINT_NAMES") = py::tuple(keypoint_names());
    py::list pairs;
    for (const auto& p : posenet::kAdjacentPairs) pairs.append(py::make_tuple(p[0], p[1]));
    m.attr("ADJACENT_PAIRS") = py::tuple(pairs);

    m.def(
        "list_devices",
        [] {
            py::list out;
            for (const posenet::DeviceDescription& d : posenet::list_devices()) {
                py::dict e;
                e["index"] = d.index;
                e["name"] = d.name;
                e["type"] = d.type;
                e["driver"] = d.driver;
                e["memory_bytes"] = d.memory_bytes;
                out.append(e);
            }
            return out;
        },
        R"doc(The Vulkan devices on this machine, as a list of dicts {'index', 'name', 'type', 'driver',
'memory_bytes'} (type: discrete, integrated, virtual, cpu, other). Empty where there is no Vulkan
loader or device. An entry's index is what create_detector's `device` takes.)doc");

    m.def(
        "load_image",
        [](const py::object& path) {
            const std::string file = py::module_::import("os").attr("fspath")(path).cast<std::string>();
            posenet::Image image;
            {
                py::gil_scoped_release release;
                image = posenet::load_image(file);
            }
            return image_array(std::move(image));
        },
        py::arg("path"),
        R"doc(Decodes an image file (JPEG, PNG, binary PNM) into an H x W x 3 uint8 RGB array
(grey expanded, alpha dropped, 16-bit reduced to 8), as the C++ posenet::load_image does.
Raises posenet.ImageError for a missing, unreadable, empty, corrupt or too large file.)doc");

    m.def(
        "decode_image",
        [](const py::buffer& data, const std::string& name) {
            const py::buffer_info info = data.request();
            if (info.ndim != 1 || info.itemsize != 1 || info.strides[0] != 1)
                throw py::type_error("data: expected contiguous bytes");
            posenet::Image image;
            {
                py::gil_scoped_release release;  // `data` holds the buffer
                image = posenet::decode_image({static_cast<const uint8_t*>(info.ptr), size_t(info.size)}, name);
            }
            return image_array(std::move(image));
        },
        py::arg("data"), py::arg("name") = "image in memory",
        R"doc(Decodes an image file's bytes into an H x W x 3 uint8 RGB array, as load_image does;
`name` names it in error messages.)doc");

    py::class_<Detector>(m, "Detector", "A PoseNet detector; made by posenet.create_detector.")
        .def(py::init<const py::object&, const std::optional<std::string>&, std::optional<int>, const py::object&,
                      std::optional<double>, std::optional<int>, const std::string&, int, const std::string&,
                      const py::object&, const py::object&>(),
             py::arg("model"), py::kw_only(), py::arg("architecture") = py::none(), py::arg("output_stride") = py::none(),
             py::arg("input_resolution") = 257, py::arg("multiplier") = py::none(), py::arg("quant_bytes") = py::none(),
             py::arg("backend") = "auto", py::arg("device") = -1, py::arg("precision") = "fp32",
             py::arg("pipeline_cache_dir") = py::none(), py::arg("log") = py::none(),
             "Use posenet.create_detector(), which documents the arguments.")
        .def("estimate_poses", &Detector::estimate_poses, py::arg("image"), py::kw_only(), py::arg("max_poses") = 1,
             py::arg("flip_horizontal") = false, py::arg("score_threshold") = 0.5, py::arg("nms_radius") = 20.0,
             kEstimateDoc)
        .def("estimate_poses_batch", &Detector::estimate_poses_batch, py::arg("images"), py::kw_only(),
             py::arg("max_poses") = 1, py::arg("flip_horizontal") = false, py::arg("score_threshold") = 0.5,
             py::arg("nms_radius") = 20.0, kBatchDoc)
        .def_property_readonly("model_info", &Detector::model_info,
                               "What the model file says, with the input size as rounded for the output stride: "
                               "{'architecture', 'output_stride', 'multiplier', 'quant_bytes', 'input_resolution': "
                               "{'width', 'height'}, 'input_transform', 'source_name', 'layers', 'parameters'}.")
        .def_property_readonly("backend", &Detector::backend, "Where the network runs: 'cpu' or 'vulkan'.")
        .def_property_readonly("device_name", &Detector::device_name,
                               "The Vulkan device's name, or the CPU kernels' (e.g. 'cpu (avx2)').")
        .def_property_readonly("device_index", &Detector::device_index,
                               "The Vulkan device's index (list_devices()), -1 on the CPU.")
        .def("dispose", &Detector::dispose,
             "Frees the model and the device now (pose-detection's dispose()); later calls raise "
             "posenet.ConfigError. "
             "Also what leaving a `with` block does.")
        .def_property_readonly("disposed", &Detector::disposed, "Whether dispose() was called.")
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](Detector& d, const py::args&) { d.dispose(); })
        .def("__repr__", [](const Detector& d) {
            if (d.disposed()) return std::string("<posenet.Detector (disposed)>");
            const py::dict info = d.model_info();
            const py::dict r = info["input_resolution"];
            return "<posenet.Detector " + py::str(info["architecture"]).cast<std::string>() + " " +
                   py::str(info["multiplier"]).cast<std::string>() + " stride " +
                   py::str(info["output_stride"]).cast<std::string>() + " input " + py::str(r["width"]).cast<std::string>() +
                   "x" + py::str(r["height"]).cast<std::string>() + " on " + d.backend() + " (" + d.device_name() + ")>";
        });
    py::class_<FrameResult>(m, "FrameResult", "One frame's result from a posenet.Stream.")
        .def_readonly("index", &FrameResult::index, "0, 1, 2, ... in push order.")
        .def_readonly("timestamp_us", &FrameResult::timestamp_us, "As pushed.")
        .def_readonly("height", &FrameResult::height, "The frame's height.")
        .def_readonly("width", &FrameResult::width, "The frame's width.")
        .def_readonly("poses", &FrameResult::poses,
                      "As estimate_poses gives them (frame pixels), each with 'id' (its track id) when the "
                      "stream tracks; empty when the frame failed.")
        .def_readonly("error", &FrameResult::error,
                      "None, or the exception the frame failed with (a posenet.Error; `raise result.error`).")
        .def_property_readonly("ok", [](const FrameResult& r) { return r.error.is_none(); }, "error is None.")
        .def("__repr__", [](const FrameResult& r) {
            return "<posenet.FrameResult " + std::to_string(r.index) + " at " + std::to_string(r.timestamp_us) + " us, " +
                   std::to_string(r.width) + "x" + std::to_string(r.height) + ", " + std::to_string(r.poses.size()) +
                   " pose(s)" + (r.error.is_none() ? std::string() : ", failed") + ">";
        });

    const posenet::StreamOptions stream_defaults;
    py::class_<Stream>(m, "Stream", kStreamDoc)
        .def(py::init<const Detector&, int, bool, double, double, int, const py::object&, bool>(), py::arg("detector"),
             py::kw_only(), py::arg("max_poses") = 1, py::arg("flip_horizontal") = false, py::arg("score_threshold") = 0.5,
             py::arg("nms_radius") = 20.0, py::arg("frames_in_flight") = stream_defaults.frames_in_flight,
             py::arg("tracker") = py::none(), py::arg("smoothing") = false)
        .def("push", &Stream::push, py::arg("image"), py::arg("timestamp_us"),
             "Copies the frame (a uint8 image array as estimate_poses takes them) and starts it; waits only "
             "while every slot is busy. Raises TypeError or posenet.ConfigError for a bad array (nothing is "
             "taken), or the failed frame's error once the stream has stopped.")
        .def("next", &Stream::next,
             "The next result in order, waiting for it (GIL released). posenet.ConfigError when no frame "
             "is pending.")
        .def("try_next", &Stream::try_next, "The next result in order if it is done, else None; never waits.")
        .def("flush", &Stream::flush,
             "Waits until every frame pushed so far is done; returns the results not taken yet, in order.")
        .def_property_readonly("pending", &Stream::pending, "Frames pushed whose results were not taken.")
        .def_property_readonly("frames_in_flight", &Stream::frames_in_flight, "As given.")
        .def_property_readonly("tracking", &Stream::tracking, "Whether poses carry track ids ('id').")
        .def("close", &Stream::close,
             "Waits for the frames in flight and drops their results (flush() first to keep them); later "
             "calls raise posenet.ConfigError. Also what leaving a `with` block does.")
        .def_property_readonly("closed", &Stream::closed, "Whether close() was called.")
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](Stream& s, const py::args&) { s.close(); })
        .def("__repr__", [](const Stream& s) {
            if (s.closed()) return std::string("<posenet.Stream (closed)>");
            return "<posenet.Stream " + std::to_string(s.frames_in_flight()) + " frames in flight, " +
                   std::to_string(s.pending()) + " pending>";
        });
}
