#include "bench/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>

namespace posenet {

namespace {

constexpr size_t kMaxDets = 20;  // COCOeval's keypoint maxDets = [20]
constexpr int kT = 10, kR = 101, kA = 3;
// areaRng: all [0, 1e5^2], medium [32^2, 96^2], large [96^2, 1e5^2]
constexpr double kAreaRanges[kA][2] = {{0, 1e10}, {32 * 32, 96 * 96}, {96 * 96, 1e10}};
constexpr double kEps = std::numeric_limits<double>::epsilon();  // np.spacing(1)

// np.linspace(start, stop, n): i * step + start, with the last value set to stop. Computed the same
// way so that the thresholds (and the == 0.5 / 0.75 look-ups of summarize) are the same doubles.
template <int N>
std::array<double, N> linspace(double start, double stop) {
    std::array<double, N> v{};
    const double step = (stop - start) / (N - 1);
    for (int i = 0; i < N; ++i) v[size_t(i)] = double(i) * step + start;
    v[N - 1] = stop;
    return v;
}
const auto kIouThrs = linspace<kT>(0.5, 0.95);
const auto kRecThrs = linspace<kR>(0.0, 1.0);

struct Gt {
    int64_t id;
    double area;
    bool crowd, ignore;  // ignore: crowd or no labelled keypoints
    std::array<double, 3 * kNumKeypoints> kp;
    std::array<double, 4> bbox;
};

struct Dt {
    double score, area;  // area: of the keypoints' extent, as loadRes sets it
    const CocoDetection* det;
};

struct Cell {  // one (image, category)
    std::vector<Gt> gts;  // annotation-file order
    std::vector<Dt> dts;  // results order, then sorted by score in evaluate
    std::vector<double> oks;  // [dt (sorted, <= maxDets)][gt (file order)]
};

struct ImageEval {  // evaluateImg's output for one (category, area range, image)
    std::vector<double> scores;
    std::vector<uint8_t> matched, ignored;  // [t * D + d]
    int regular_gts = 0;                    // gts not ignored in this area range
};

std::runtime_error annotation_error(const nlohmann::json& a, const std::string& what) {
    std::string id = a.is_object() && a.contains("id") ? a["id"].dump() : "?";
    return std::runtime_error("annotations: annotation id " + id + ": " + what);
}

template <size_t N>
std::array<double, N> number_array(const nlohmann::json& v, const char* name) {
    if (!v.is_array() || v.size() != N)
        throw std::runtime_error(std::string(name) + " must be an array of " + std::to_string(N) + " numbers");
    std::array<double, N> out{};
    for (size_t i = 0; i < N; ++i) out[i] = v[i].get<double>();
    return out;
}

Gt parse_gt(const nlohmann::json& a) {
    try {
        Gt g;
        g.id = a.at("id").get<int64_t>();
        g.area = a.at("area").get<double>();
        g.crowd = a.value("iscrowd", 0) != 0;
        g.kp = number_array<3 * kNumKeypoints>(a.at("keypoints"), "keypoints");
        g.bbox = number_array<4>(a.at("bbox"), "bbox");
        g.ignore = g.crowd || a.at("num_keypoints").get<int>() == 0;
        return g;
    } catch (const std::exception& e) {
        throw annotation_error(a, e.what());
    }
}

double oks(const Gt& g, const std::array<double, 3 * kNumKeypoints>& d) {
    int labelled = 0;
    for (int k = 0; k < kNumKeypoints; ++k) labelled += g.kp[size_t(3 * k + 2)] > 0;
    const double x0 = g.bbox[0] - g.bbox[2], x1 = g.bbox[0] + g.bbox[2] * 2;
    const double y0 = g.bbox[1] - g.bbox[3], y1 = g.bbox[1] + g.bbox[3] * 2;
    double sum = 0;
    int n = 0;
    for (size_t k = 0; k < size_t(kNumKeypoints); ++k) {
        const double xd = d[3 * k], yd = d[3 * k + 1];
        double dx, dy;
        if (labelled > 0) {
            if (!(g.kp[3 * k + 2] > 0)) continue;
            dx = xd - g.kp[3 * k];
            dy = yd - g.kp[3 * k + 1];
        } else {
            dx = std::max(0.0, x0 - xd) + std::max(0.0, xd - x1);
            dy = std::max(0.0, y0 - yd) + std::max(0.0, yd - y1);
        }
        const double var = (kCocoSigmas[k] * 2) * (kCocoSigmas[k] * 2);
        const double e = (dx * dx + dy * dy) / var / (g.area + kEps) / 2;  // numpy's order of operations
        sum += std::exp(-e);
        ++n;
    }
    return sum / n;
}

// evaluateImg: greedy matching of score-sorted detections to gts, per OKS threshold.
ImageEval evaluate_image(const Cell& c, const double range[2]) {
    const size_t G = c.gts.size(), D = std::min(c.dts.size(), kMaxDets);
    std::vector<uint8_t> gt_ignore(G);
    for (size_t g = 0; g < G; ++g)
        gt_ignore[g] = c.gts[g].ignore || c.gts[g].area < range[0] || c.gts[g].area > range[1];
    // gts not ignored first (stable), as the matching's early stop relies on it
    std::vector<size_t> order(G);
    for (size_t g = 0; g < G; ++g) order[g] = g;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return gt_ignore[a] < gt_ignore[b]; });

    ImageEval r;
    r.matched.assign(kT * D, 0);
    r.ignored.assign(kT * D, 0);
    for (size_t d = 0; d < D; ++d) r.scores.push_back(c.dts[d].score);
    for (size_t g = 0; g < G; ++g) r.regular_gts += !gt_ignore[g];
    if (G > 0 && D > 0) {
        for (int t = 0; t < kT; ++t) {
            std::vector<uint8_t> gt_matched(G, 0);
            for (size_t d = 0; d < D; ++d) {
                double best = std::min(kIouThrs[size_t(t)], 1 - 1e-10);
                long m = -1;
                for (size_t gi = 0; gi < G; ++gi) {
                    const size_t g = order[gi];
                    if (gt_matched[gi] && !c.gts[g].crowd) continue;  // crowds can match many
                    // matched a regular gt and the rest are ignored ones: stop
                    if (m > -1 && !gt_ignore[order[size_t(m)]] && gt_ignore[g]) break;
                    const double o = c.oks[d * G + g];
                    if (o < best) continue;  // ties go to the later gt, as in pycocotools
                    best = o;
                    m = long(gi);
                }
                if (m == -1) continue;
                r.ignored[size_t(t) * D + d] = gt_ignore[order[size_t(m)]];
                r.matched[size_t(t) * D + d] = 1;
                gt_matched[size_t(m)] = 1;
            }
        }
    }
    // unmatched detections outside the area range are ignored, not false positives
    for (size_t d = 0; d < D; ++d)
        if (c.dts[d].area < range[0] || c.dts[d].area > range[1])
            for (int t = 0; t < kT; ++t)
                if (!r.matched[size_t(t) * D + d]) r.ignored[size_t(t) * D + d] = 1;
    return r;
}

double mean_of_valid(const std::vector<double>& v) {
    double sum = 0;
    int n = 0;
    for (double x : v)
        if (x > -1) sum += x, ++n;
    return n ? sum / n : -1;
}

}  // namespace

CocoDetection to_coco_detection(int64_t image_id, const Pose& pose) {
    CocoDetection d;
    d.image_id = image_id;
    d.score = pose.score;
    for (size_t k = 0; k < size_t(kNumKeypoints); ++k) {
        d.keypoints[3 * k] = pose.keypoints[k].x;
        d.keypoints[3 * k + 1] = pose.keypoints[k].y;
        d.keypoints[3 * k + 2] = pose.keypoints[k].score;
    }
    return d;
}

nlohmann::json to_coco_results(const std::vector<CocoDetection>& detections) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : detections)
        out.push_back({{"image_id", d.image_id}, {"category_id", d.category_id}, {"keypoints", d.keypoints},
                       {"score", d.score}});
    return out;
}

std::vector<CocoDetection> parse_coco_results(const nlohmann::json& results) {
    if (!results.is_array()) throw std::runtime_error("COCO results must be a JSON array");
    std::vector<CocoDetection> out;
    for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        try {
            CocoDetection d;
            d.image_id = r.at("image_id").get<int64_t>();
            d.category_id = r.at("category_id").get<int64_t>();
            d.score = r.at("score").get<double>();
            d.keypoints = number_array<3 * kNumKeypoints>(r.at("keypoints"), "keypoints");
            out.push_back(d);
        } catch (const std::exception& e) {
            throw std::runtime_error("results entry " + std::to_string(i) + ": " + e.what());
        }
    }
    return out;
}

double coco_oks(const nlohmann::json& annotation, const CocoDetection& detection) {
    return oks(parse_gt(annotation), detection.keypoints);
}

std::array<double, 10> evaluate_coco_keypoints(const nlohmann::json& annotations,
                                               const std::vector<CocoDetection>& detections) {
    if (!annotations.is_object() || !annotations.contains("images") || !annotations.contains("annotations"))
        throw std::runtime_error("annotations: not a COCO annotations file (no images or annotations)");
    std::vector<int64_t> images, categories;
    for (const auto& im : annotations["images"]) images.push_back(im.at("id").get<int64_t>());
    for (const auto& c : annotations.value("categories", nlohmann::json::array()))
        categories.push_back(c.at("id").get<int64_t>());
    if (categories.empty()) throw std::runtime_error("annotations: no categories");
    for (auto* v : {&images, &categories}) {  // np.unique: sorted, distinct
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    auto listed = [](const std::vector<int64_t>& v, int64_t id) { return std::binary_search(v.begin(), v.end(), id); };

    std::map<std::pair<int64_t, int64_t>, Cell> cells;  // (image, category)
    for (const auto& a : annotations["annotations"]) {
        int64_t image = 0, category = 0;
        try {
            image = a.at("image_id").get<int64_t>();
            category = a.at("category_id").get<int64_t>();
        } catch (const std::exception& e) {
            throw annotation_error(a, e.what());
        }
        if (listed(images, image) && listed(categories, category)) cells[{image, category}].gts.push_back(parse_gt(a));
    }
    for (const auto& d : detections) {
        if (!listed(images, d.image_id))
            throw std::runtime_error("results: image_id " + std::to_string(d.image_id) + " is not in the annotations");
        double x0 = d.keypoints[0], x1 = x0, y0 = d.keypoints[1], y1 = y0;
        for (size_t k = 1; k < size_t(kNumKeypoints); ++k) {
            x0 = std::min(x0, d.keypoints[3 * k]), x1 = std::max(x1, d.keypoints[3 * k]);
            y0 = std::min(y0, d.keypoints[3 * k + 1]), y1 = std::max(y1, d.keypoints[3 * k + 1]);
        }
        if (listed(categories, d.category_id)) cells[{d.image_id, d.category_id}].dts.push_back({d.score, (x1 - x0) * (y1 - y0), &d});
    }
    for (auto& [key, c] : cells) {  // computeOks
        std::stable_sort(c.dts.begin(), c.dts.end(), [](const Dt& a, const Dt& b) { return a.score > b.score; });
        const size_t D = std::min(c.dts.size(), kMaxDets), G = c.gts.size();
        c.oks.resize(D * G);
        for (size_t d = 0; d < D; ++d)
            for (size_t g = 0; g < G; ++g) c.oks[d * G + g] = oks(c.gts[g], c.dts[d].det->keypoints);
    }

    // accumulate: precision [T][R][K][A], recall [T][K][A]; -1 where there is nothing to measure
    const size_t K = categories.size();
    std::vector<double> precision(kT * kR * K * kA, -1), recall(kT * K * kA, -1);
    for (size_t k = 0; k < K; ++k)
        for (int a = 0; a < kA; ++a) {
            std::vector<ImageEval> evals;  // images in id order
            for (int64_t image : images) {
                auto it = cells.find({image, categories[k]});
                if (it != cells.end() && !(it->second.gts.empty() && it->second.dts.empty()))
                    evals.push_back(evaluate_image(it->second, kAreaRanges[a]));
            }
            if (evals.empty()) continue;
            struct Entry {
                double score;
                const ImageEval* e;
                size_t d;
            };
            std::vector<Entry> all;
            int regular = 0;
            for (const auto& e : evals) {
                for (size_t d = 0; d < e.scores.size(); ++d) all.push_back({e.scores[d], &e, d});
                regular += e.regular_gts;
            }
            if (regular == 0) continue;
            std::stable_sort(all.begin(), all.end(), [](const Entry& x, const Entry& y) { return x.score > y.score; });
            const size_t nd = all.size();
            for (int t = 0; t < kT; ++t) {
                std::vector<double> rc(nd), pr(nd);
                double tp = 0, fp = 0;
                for (size_t i = 0; i < nd; ++i) {
                    const size_t at = size_t(t) * all[i].e->scores.size() + all[i].d;
                    if (!all[i].e->ignored[at]) (all[i].e->matched[at] ? tp : fp) += 1;
                    rc[i] = tp / regular;
                    pr[i] = tp / (fp + tp + kEps);
                }
                recall[(size_t(t) * K + k) * kA + size_t(a)] = nd ? rc[nd - 1] : 0;
                for (size_t i = nd; i-- > 1;) pr[i - 1] = std::max(pr[i - 1], pr[i]);  // precision envelope
                auto q = [&](int r) -> double& { return precision[((size_t(t) * kR + size_t(r)) * K + k) * kA + size_t(a)]; };
                for (int r = 0; r < kR; ++r) q(r) = 0;  // recall levels never reached keep precision 0
                for (int r = 0; r < kR; ++r) {
                    // the first detection reaching this recall (searchsorted, side left)
                    size_t i = size_t(std::lower_bound(rc.begin(), rc.end(), kRecThrs[size_t(r)]) - rc.begin());
                    if (i >= nd) break;
                    q(r) = pr[i];
                }
            }
        }

    // summarize (_summarizeKps)
    auto stat = [&](bool ap, double iou_thr, int a) {
        std::vector<double> s;
        for (int t = 0; t < kT; ++t) {
            if (iou_thr >= 0 && kIouThrs[size_t(t)] != iou_thr) continue;
            for (size_t k = 0; k < K; ++k) {
                if (!ap) s.push_back(recall[(size_t(t) * K + k) * kA + size_t(a)]);
                else
                    for (int r = 0; r < kR; ++r) s.push_back(precision[((size_t(t) * kR + size_t(r)) * K + k) * kA + size_t(a)]);
            }
        }
        return mean_of_valid(s);
    };
    std::array<double, 10> stats{};
    for (int ap = 0; ap < 2; ++ap) {
        const size_t o = ap ? 0 : 5;
        stats[o + 0] = stat(ap, -1, 0);
        stats[o + 1] = stat(ap, .5, 0);
        stats[o + 2] = stat(ap, .75, 0);
        stats[o + 3] = stat(ap, -1, 1);
        stats[o + 4] = stat(ap, -1, 2);
    }
    return stats;
}

}  // namespace posenet
