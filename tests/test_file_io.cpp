// engine/file_io.h: only regular files are read, reads are bounded, outputs appear whole or not at all.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "engine/file_io.h"
#include "tests/test_support.h"

using namespace posenet;
using namespace posenet::test;

TEST_CASE("file_io: FIFOs, directories and missing files are refused without blocking; reads are bounded") {
    auto dir = scratch_dir("file_io_read");
    std::string why;
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    CHECK_FALSE(engine::read_regular_file(dir / "fifo", 1 << 20, why));  // would hang if it opened blocking
    CHECK(why == "is a FIFO, not a regular file");
    CHECK_FALSE(engine::read_regular_file(dir, 1 << 20, why));
    CHECK(why == "is a directory, not a regular file");
    CHECK_FALSE(engine::read_regular_file(dir / "missing", 1 << 20, why));
    CHECK(why == "no such file");
    CHECK(engine::regular_file_problem("/dev/zero").value() == "is a character device, not a regular file");

    std::ofstream(dir / "ten") << "0123456789";
    auto bytes = engine::read_regular_file(dir / "ten", 10, why);
    REQUIRE(bytes);
    CHECK(bytes->size() == 10);
    CHECK_FALSE(engine::read_regular_file(dir / "ten", 9, why));
    CHECK(why == "is 10 bytes, more than the limit of 9");
    CHECK_FALSE(engine::regular_file_problem(dir / "ten"));
}

TEST_CASE("file_io: atomic writes replace whole files and leave no temporary behind, also on failure") {
    auto dir = scratch_dir("file_io_write");
    std::ofstream(dir / "out.json.tmp") << "the user's own file";
    CHECK_FALSE(engine::write_file_atomically(dir / "out.json", std::string("first")));
    CHECK_FALSE(engine::write_file_atomically(dir / "out.json", std::string("second")));
    std::ifstream in(dir / "out.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    CHECK(text == "second");
    std::ifstream mine(dir / "out.json.tmp");
    std::string kept((std::istreambuf_iterator<char>(mine)), {});
    CHECK(kept == "the user's own file");  // never clobbered by a fixed temporary name

    // A directory as the target, and a folder that does not exist: an error, nothing left behind.
    fs::create_directories(dir / "sub");
    CHECK(engine::write_file_atomically(dir / "sub", std::string("x")).value() == "is a directory");
    CHECK(engine::write_file_atomically(dir / "nowhere" / "f", std::string("x")).has_value());
    int files = 0;
    for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
    CHECK(files == 2);  // out.json and the user's out.json.tmp
}
