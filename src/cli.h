// rampart's command line (run, validate, version, demo-origin): main() is this and nothing else,
// so that a test build can register test-only gates first and run the same program.
#pragma once

namespace rampart {

int RunCommandLine(int argc, char** argv);

}  // namespace rampart
