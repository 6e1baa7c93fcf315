// The SVG of `posenet bench --plot` (bench/plot_svg.h): well-formed XML whatever the layer names hold,
// a bar, a floor tick and a point per layer, the ceilings drawn or a note in their place, no NaN or
// infinity ever written, and log axes that hold every point.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "bench/plot_svg.h"
#include "tests/xml_check.h"

using namespace posenet;
using namespace posenet::test;

namespace {

bench::PlotInput three_layers() {
    bench::PlotInput in;
    in.title = "MobileNetV1 0.75 stride 16, input 257x257, batch 1, float32, Test GPU";
    // intensity (FLOP/byte), GFLOP/s: 10, 200 | 0.25, 1 | 1000, 40000
    in.layers = {{"conv2d_generic", "Conv2d_0", 5, 1e6, 1e5, 0.5},
                 {"depthwise_conv", "Conv2d_1_depthwise", 4, 4e3, 1.6e4, 0.1},
                 {"pointwise_conv", "Conv2d_1_pointwise", 100, 4e9, 4e6, 60}};
    in.peak_gflops = 67000, in.peak_gbps = 3000, in.ceilings_source = "test figures";
    return in;
}

double attr(const XmlElement* e, const std::string& name) {
    auto it = e->attributes.find(name);
    REQUIRE(it != e->attributes.end());
    return std::stod(it->second);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// No "nan" or "inf" as a number anywhere: in attribute values (coordinates) or as a word in text.
void check_no_nan_or_inf(const XmlDocument& d) {
    for (const auto& e : d.elements) {
        for (const auto& [k, v] : e.attributes) {
            INFO(e.name << " " << k << "=" << v);
            CHECK(lower(v).find("nan") == std::string::npos);
            CHECK(lower(v).find("inf") == std::string::npos);
        }
        const std::string t = std::string(" ").append(lower(e.text)).append(" ");
        for (const char* word : {" nan", " inf", "-nan", "-inf", "(nan", "(inf"}) {
            INFO(e.name << " text: " << e.text);
            CHECK(t.find(word) == std::string::npos);
        }
    }
}

}  // namespace

TEST_CASE("bench plot: one bar, floor tick and point per layer; both ceilings with their values; well-formed") {
    const auto in = three_layers();
    const std::string svg = bench::plot_svg(in);
    const auto d = parse_xml(svg);
    INFO(d.error);
    REQUIRE(d.ok());
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(d.elements.front().name == "svg");
    CHECK(d.elements.front().attributes.at("xmlns") == "http://www.w3.org/2000/svg");
    CHECK(d.with("rect", "bar").size() == 3);
    CHECK(d.with("line", "floor").size() == 3);
    CHECK(d.with("circle", "point").size() == 3);
    CHECK(d.with("line", "ceiling-compute").size() == 1);
    CHECK(d.with("line", "ceiling-bandwidth").size() == 1);
    CHECK(d.with("text", "ceilings-unknown").empty());
    CHECK(d.with("text", "skipped").empty());
    CHECK(svg.find("67000 GFLOP/s") != std::string::npos);
    CHECK(svg.find("3000 GB/s") != std::string::npos);
    CHECK(svg.find("test figures") != std::string::npos);
    CHECK(svg.find("Conv2d_1_pointwise") != std::string::npos);
    CHECK(svg.find("depthwise_conv") != std::string::npos);
    CHECK(svg.find(in.title) != std::string::npos);
    // Bars are as long as their times: the 100 us one is 20x the 5 us one; the floor ticks sit at their floors.
    const auto bars = d.with("rect", "bar");
    CHECK(attr(bars[2], "width") / attr(bars[0], "width") == doctest::Approx(20).epsilon(0.01));
    const auto floors = d.with("line", "floor");
    const double x0 = attr(bars[0], "x");
    CHECK((attr(floors[2], "x1") - x0) / attr(bars[2], "width") == doctest::Approx(0.6).epsilon(0.01));
    // Points: the pointwise layer has the highest intensity and throughput, the depthwise one the lowest.
    const auto pts = d.with("circle", "point");
    CHECK(attr(pts[2], "cx") > attr(pts[0], "cx"));
    CHECK(attr(pts[0], "cx") > attr(pts[1], "cx"));
    CHECK(attr(pts[2], "cy") < attr(pts[0], "cy"));  // SVG y grows downwards
    CHECK(attr(pts[0], "cy") < attr(pts[1], "cy"));
    check_no_nan_or_inf(d);
    CHECK(bench::plot_svg(in) == svg);  // the same bytes for the same input
}

TEST_CASE("bench plot: log axes hold every point and the ceilings' meeting point, with decade labels") {
    auto in = three_layers();
    // Spread over many decades: intensity 1e-3 .. 1e4, GFLOP/s 1e-2 .. 1e5.
    in.layers.push_back({"k", "tiny", 1000, 10, 1e4, 0});
    in.layers.push_back({"k", "huge", 1, 1e8, 1e4, 0});
    const auto d = parse_xml(bench::plot_svg(in));
    INFO(d.error);
    REQUIRE(d.ok());
    const auto area = d.with("rect", "plot-area");
    REQUIRE(area.size() == 1);
    const double left = attr(area[0], "x"), top = attr(area[0], "y");
    const double right = left + attr(area[0], "width"), bottom = top + attr(area[0], "height");
    const auto pts = d.with("circle", "point");
    REQUIRE(pts.size() == in.layers.size());
    for (const auto* p : pts) {
        CHECK(attr(p, "cx") >= left);
        CHECK(attr(p, "cx") <= right);
        CHECK(attr(p, "cy") >= top);
        CHECK(attr(p, "cy") <= bottom);
    }
    for (const char* cls : {"ceiling-compute", "ceiling-bandwidth"}) {
        const auto l = d.with("line", cls);
        REQUIRE(l.size() == 1);
        for (const char* x : {"x1", "x2"}) CHECK((attr(l[0], x) >= left - 0.1 && attr(l[0], x) <= right + 0.1));
        for (const char* y : {"y1", "y2"}) CHECK((attr(l[0], y) >= top - 0.1 && attr(l[0], y) <= bottom + 0.1));
    }
    // The compute ceiling is horizontal at 67000; the bandwidth one rises to meet it.
    const auto c = d.with("line", "ceiling-compute")[0];
    CHECK(attr(c, "y1") == attr(c, "y2"));
    const auto b = d.with("line", "ceiling-bandwidth")[0];
    CHECK(attr(b, "y2") == doctest::Approx(attr(c, "y1")));
    CHECK(attr(b, "x2") == doctest::Approx(attr(c, "x1")));
    CHECK(attr(b, "y1") > attr(b, "y2"));
    // Decade labels from 0.001 (intensity 1e-3) and 0.01 (GFLOP/s) up to 100000 (GFLOP/s above 67000).
    std::vector<std::string> texts;
    for (const auto* t : d.with("text")) texts.push_back(t->text);
    for (const char* label : {"0.001", "0.01", "1", "10000", "100000"}) {
        INFO(label);
        CHECK(std::find(texts.begin(), texts.end(), label) != texts.end());
    }
    // A point at intensity 10 sits on the 10 line: its x is where that decade's label is centred.
    const XmlElement* ten = nullptr;
    for (const auto* t : d.with("text"))
        if (t->text == "10" && t->attributes.count("text-anchor") && t->attributes.at("text-anchor") == "middle" &&
            attr(t, "y") > bottom)
            ten = t;
    REQUIRE(ten);
    CHECK(attr(pts[0], "cx") == doctest::Approx(attr(ten, "x")).epsilon(0.002));
}

TEST_CASE("bench plot: layer names and titles are escaped; bad UTF-8 and control bytes replaced") {
    auto in = three_layers();
    in.title = "model <b>&\"co\" 'x'";
    in.layers[0].name = "</text><script>alert(1)</script>&amp;\"'";
    in.layers[1].name = std::string("bad\x01\x1f bytes \xff\xc0\x80 \xed\xa0\x80 cut \xe2\x82") + "\n";
    in.layers[2].name = "";
    for (int i = 0; i < 100; ++i) in.layers[2].name += "\xc3\xa9";  // 100 x e-acute: cut in the label, never mid-character
    in.ceilings_source = "<src>";
    const std::string svg = bench::plot_svg(in);
    const auto d = parse_xml(svg);
    INFO(d.error);
    REQUIRE(d.ok());
    CHECK(svg.find("<script>") == std::string::npos);
    CHECK(svg.find("<b>") == std::string::npos);
    CHECK(svg.find("<src>") == std::string::npos);
    CHECK(svg.find("&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;&quot;&apos;") != std::string::npos);
    CHECK(svg.find("model &lt;b&gt;&amp;&quot;co&quot; &apos;x&apos;") != std::string::npos);
    CHECK(svg.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD for the bad bytes
    CHECK(svg.find("\xe2\x80\xa6") != std::string::npos);  // the ellipsis of a cut label
    CHECK(d.with("rect", "bar").size() == 3);

    CHECK(bench::xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;");
    CHECK(bench::xml_escape("tab\tline\nend\r") == "tab line end ");
    CHECK(bench::xml_escape("abcdef", 4) == "abc\xe2\x80\xa6");
    CHECK(bench::xml_escape("abcd", 4) == "abcd");
    CHECK(bench::xml_escape("\xc3\xa9\xc3\xa9\xc3\xa9", 2) == "\xc3\xa9\xe2\x80\xa6");
    CHECK(bench::xml_escape("\x01") == "\xef\xbf\xbd");
    CHECK(bench::xml_escape("\xef\xbf\xbe") == "\xef\xbf\xbd");      // U+FFFE is not an XML character
    CHECK(bench::xml_escape("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");  // a 4-byte character passes
    CHECK(bench::xml_escape("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");   // truncated sequence: each byte replaced
}

TEST_CASE("bench plot: zero, negative, NaN and infinite figures are left out with a note, never written") {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    bench::PlotInput in;
    in.title = "degenerate";
    in.layers = {{"preprocess", "preprocess", 3, 0, 0, 0},       // no FLOPs, no bytes
                 {"a", "zero time", 0, 1e6, 1e5, 0.2},
                 {"b", "negative", -5, 1e6, 1e5, -1},
                 {"c", "no number", nan, nan, nan, nan},
                 {"d", "endless", inf, inf, 1e5, inf},
                 {"e", "overflowing ratio", 1e-300, 1e300, 1e-300, 0},
                 {"f", "fine", 2, 1e6, 1e5, 1}};
    SUBCASE("no ceilings") {}
    SUBCASE("ceilings not finite") { in.peak_gflops = nan, in.peak_gbps = inf; }
    SUBCASE("negative ceilings") { in.peak_gflops = -1, in.peak_gbps = -1; }
    const std::string svg = bench::plot_svg(in);
    const auto d = parse_xml(svg);
    INFO(d.error);
    REQUIRE(d.ok());
    check_no_nan_or_inf(d);
    // Bars only where there is a time (preprocess, the 1e-300 one and the fine one); points only where
    // intensity and throughput are positive and finite (the fine one).
    CHECK(d.with("rect", "bar").size() == 3);
    CHECK(d.with("line", "floor").size() == 2);
    const auto pts = d.with("circle", "point");
    CHECK(pts.size() == 1);
    const auto skipped = d.with("text", "skipped");
    REQUIRE(skipped.size() == 1);
    CHECK(skipped[0]->text.find("0, 1, 2, 3, 4, 5") != std::string::npos);
    CHECK(d.with("text", "ceilings-unknown").size() == 1);
    CHECK(d.with("line", "ceiling-compute").empty());
    CHECK(svg.find("no time") != std::string::npos);

    // Nothing to draw at all: still a well-formed document with both charts' frames.
    bench::PlotInput empty;
    const auto e = parse_xml(bench::plot_svg(empty));
    INFO(e.error);
    REQUIRE(e.ok());
    CHECK(e.with("rect", "plot-area").size() == 1);
    CHECK(e.with("circle", "point").empty());
    check_no_nan_or_inf(e);
}

TEST_CASE("bench plot: the XML check itself rejects what is not well-formed") {
    CHECK(parse_xml("<a><b></b></a>").ok());
    CHECK(parse_xml("<?xml version=\"1.0\"?>\n<a x=\"1\" y='2'>t &amp; &#38; &#x26;</a>\n").ok());
    for (const char* bad : {"<a><b></a></b>", "<a>", "<a></a><b/>", "<a x=1/>", "<a x=\"1\"x=\"2\"/>", "<a x=\"1\" x=\"2\"/>",
                            "<a>&bogus;</a>", "<a>a & b</a>", "<a x=\"<\"/>", "text<a/>", "<a>\x01</a>", "<a>\xff</a>", "",
                            "<a><!-- c --></a>"}) {
        INFO(bad);
        CHECK_FALSE(parse_xml(bad).ok());
    }
}
